"""Array backend selection: NumPy on CPU, CuPy on a GPU.

Every feature function takes an `xp` argument (the array module) instead of being written twice.
`get_xp(name)` turns a backend's name into it: `numpy` (default), `cupy` (required, fails if CuPy is
missing), or `auto` (CuPy when it imports and sees a device, NumPy otherwise). The server's choice is the
`SFA_DSP_BACKEND` setting, which the analysis job hands its worker.
"""

import sys
from types import ModuleType
from typing import Any

import numpy as np
import scipy.fft

from .errors import ParameterError

BACKENDS = ("numpy", "cupy", "auto")


class BackendUnavailableError(RuntimeError):
    """The requested array backend cannot be used on this host."""


def get_xp(name: str = "numpy") -> ModuleType:
    """Return the array module `name` stands for (one of `BACKENDS`, in any case)."""
    choice = name.strip().lower()
    if choice not in BACKENDS:
        raise ParameterError(f"unknown DSP backend {choice!r}; expected one of {', '.join(BACKENDS)}")
    if choice == "numpy":
        return np
    if choice == "cupy":
        return _import_cupy()
    try:
        return _import_cupy()
    except BackendUnavailableError:
        return np


def _import_cupy() -> ModuleType:
    try:
        import cupy
    except ImportError as exc:
        raise BackendUnavailableError("the cupy DSP backend needs CuPy, which is not installed") from exc
    try:
        devices = cupy.cuda.runtime.getDeviceCount()
    except cupy.cuda.runtime.CUDARuntimeError as exc:
        raise BackendUnavailableError(f"CuPy cannot reach a GPU: {exc}") from exc
    if devices < 1:
        raise BackendUnavailableError("CuPy is installed but no GPU is visible")
    return cupy


def array_module(*arrays: Any) -> ModuleType:
    """The module owning `arrays`: CuPy if any of them is a CuPy array, else NumPy.

    CuPy is only consulted when something already imported it, so NumPy callers never load it.
    """
    cupy = sys.modules.get("cupy")
    if cupy is not None and any(isinstance(a, cupy.ndarray) for a in arrays):
        return cupy
    return np


def block_samples(xp: ModuleType) -> int:
    """How many samples of frames to transform at once: on the CPU a megabyte of float32, which stays in
    a core's cache through window, FFT and magnitude; on a GPU far more, as each block costs kernel launches."""
    return 1 << 18 if xp is np else 1 << 24


def to_numpy(x: Any) -> np.ndarray:
    """Copy `x` to host memory as a NumPy array (no copy when it already is one)."""
    if array_module(x) is np:
        return np.asarray(x)
    return x.get()


def rfft(x: Any, *, n: int | None = None, axis: int = -1, xp: ModuleType = np) -> Any:
    """Real FFT on the backend of `xp`; on NumPy through scipy.fft with every core."""
    if xp is np:
        return scipy.fft.rfft(x, n=n, axis=axis, workers=-1)
    return xp.fft.rfft(x, n=n, axis=axis)


def irfft(x: Any, *, n: int | None = None, axis: int = -1, xp: ModuleType = np) -> Any:
    """Inverse of `rfft`."""
    if xp is np:
        return scipy.fft.irfft(x, n=n, axis=axis, workers=-1)
    return xp.fft.irfft(x, n=n, axis=axis)
