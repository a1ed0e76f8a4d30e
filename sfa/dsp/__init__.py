"""Feature extraction over an array backend `xp` (NumPy on CPU, CuPy on GPU)."""
