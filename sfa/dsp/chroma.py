"""Chroma: STFT energy folded onto the 12 pitch classes, C first."""

from functools import lru_cache
from types import ModuleType
from typing import Any

import numpy as np

from .errors import ParameterError
from .spectrum import _spectrogram


@lru_cache(maxsize=32)
def chroma_filterbank(
    *,
    sr: float,
    n_fft: int,
    n_chroma: int = 12,
    tuning: float = 0.0,
    ctroct: float = 5.0,
    octwidth: float = 2.0,
) -> np.ndarray:
    """Gaussian pitch-class bumps over STFT bins, `(n_chroma, 1 + n_fft // 2)` float64, read-only.

    Columns are L2-normalised, then weighted by a Gaussian over octaves centred on `ctroct`
    (octaves above 27.5 Hz) with width `octwidth`. `tuning` is in fractions of a chroma bin.
    """
    frequencies = np.linspace(0, sr, n_fft, endpoint=False)[1:]
    a440 = 440.0 * 2.0 ** (tuning / n_chroma)
    frqbins = n_chroma * np.log2(frequencies / (a440 / 16))
    # The 0 Hz bin gets a made-up position 1.5 octaves below bin 1, so it spreads over every chroma.
    frqbins = np.concatenate(([frqbins[0] - 1.5 * n_chroma], frqbins))
    binwidths = np.concatenate((np.maximum(frqbins[1:] - frqbins[:-1], 1.0), [1]))
    half = np.round(n_chroma / 2)
    dist = np.subtract.outer(frqbins, np.arange(0, n_chroma, dtype="d")).T
    dist = np.remainder(dist + half + 10 * n_chroma, n_chroma) - half
    weights = np.exp(-0.5 * (2 * dist / binwidths) ** 2)
    norms = np.sqrt(np.sum(weights**2, axis=0))
    weights /= np.where(norms < np.finfo(weights.dtype).tiny, 1.0, norms)
    weights *= np.exp(-0.5 * ((frqbins / n_chroma - ctroct) / octwidth) ** 2)
    weights = np.roll(weights, -3 * (n_chroma // 12), axis=0)
    weights = np.ascontiguousarray(weights[:, : 1 + n_fft // 2])
    weights.flags.writeable = False
    return weights


def chroma_stft(
    *,
    y: Any = None,
    sr: float = 22050,
    S: Any = None,
    n_fft: int = 2048,
    hop_length: int = 512,
    window: str = "hann",
    center: bool = True,
    tuning: float = 0.0,
    n_chroma: int = 12,
    xp: ModuleType | None = None,
) -> Any:
    """Chromagram `(..., n_chroma, frames)` from a signal `y` or a power spectrogram `S`.

    Each frame is scaled so its largest pitch class is 1 (silent frames stay 0). Tuning is fixed
    (`tuning`, fractions of a bin; 0 is A440) rather than estimated. Unitless.
    """
    S, n_fft, xp = _spectrogram(
        y=y, S=S, n_fft=n_fft, hop_length=hop_length, power=2.0, window=window, center=center, xp=xp
    )
    if n_chroma < 1:
        raise ParameterError(f"n_chroma must be positive, got {n_chroma}")
    basis = chroma_filterbank(sr=sr, n_fft=n_fft, n_chroma=n_chroma, tuning=tuning)
    raw = xp.matmul(xp.asarray(basis, dtype=S.dtype), S)
    peak = xp.max(xp.abs(raw), axis=-2, keepdims=True)
    tiny = float(np.finfo(raw.dtype).tiny)
    return raw / xp.where(peak < tiny, 1.0, peak)
