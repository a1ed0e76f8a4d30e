"""Mel scale (Slaney), mel filterbank, mel spectrogram and MFCC."""

from functools import lru_cache
from types import ModuleType
from typing import Any

import numpy as np

from .errors import ParameterError
from .spectrum import _matrix, _spectrogram, fft_frequencies, power_to_db

_F_SP = 200.0 / 3
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOGSTEP = np.log(6.4) / 27.0
_BAND_FILTERS = 8


def hz_to_mel(freqs: Any) -> np.ndarray:
    """Hz to mels on the Slaney scale: linear below 1 kHz, logarithmic above."""
    freqs = np.asarray(freqs, dtype=np.float64)
    safe = np.maximum(freqs, _MIN_LOG_HZ)
    return np.where(freqs >= _MIN_LOG_HZ, _MIN_LOG_MEL + np.log(safe / _MIN_LOG_HZ) / _LOGSTEP, freqs / _F_SP)


def mel_to_hz(mels: Any) -> np.ndarray:
    """Inverse of `hz_to_mel`."""
    mels = np.asarray(mels, dtype=np.float64)
    log_hz = _MIN_LOG_HZ * np.exp(_LOGSTEP * (np.maximum(mels, _MIN_LOG_MEL) - _MIN_LOG_MEL))
    return np.where(mels >= _MIN_LOG_MEL, log_hz, _F_SP * mels)


@lru_cache(maxsize=32)
def mel_filterbank(
    *, sr: float, n_fft: int, n_mels: int = 128, fmin: float = 0.0, fmax: float | None = None
) -> np.ndarray:
    """Slaney-normalised triangular filters, `(n_mels, 1 + n_fft // 2)` float64, read-only.

    Each filter has unit area in Hz; filters narrower than one FFT bin may be all zero.
    """
    fmax = sr / 2.0 if fmax is None else fmax
    if not 0 <= fmin < fmax:
        raise ParameterError(f"need 0 <= fmin < fmax, got fmin={fmin}, fmax={fmax}")
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    ramps = np.subtract.outer(edges, fft_frequencies(sr=sr, n_fft=n_fft))
    widths = np.diff(edges)
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    weights.flags.writeable = False
    return weights


def melspectrogram(
    *,
    y: Any = None,
    sr: float = 22050,
    S: Any = None,
    n_fft: int = 2048,
    hop_length: int = 512,
    window: str = "hann",
    center: bool = True,
    power: float = 2.0,
    n_mels: int = 128,
    fmin: float = 0.0,
    fmax: float | None = None,
    xp: ModuleType | None = None,
) -> Any:
    """Mel spectrogram `(..., n_mels, frames)` from a signal `y` or a spectrogram `S`.

    `S` is a magnitude spectrogram already raised to `power` (power 2 by default), shape
    `(..., 1 + n_fft // 2, frames)`. Units: `power` of the input amplitude.
    """
    S, n_fft, xp = _spectrogram(
        y=y, S=S, n_fft=n_fft, hop_length=hop_length, power=power, window=window, center=center, xp=xp
    )
    if n_mels < 1:
        raise ParameterError(f"n_mels must be positive, got {n_mels}")
    basis = xp.asarray(mel_filterbank(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax), dtype=S.dtype)
    mel = xp.zeros((*S.shape[:-2], n_mels, S.shape[-1]), dtype=S.dtype)
    for first, last, low, high in _filter_bands(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax):
        mel[..., first:last, :] = xp.matmul(basis[first:last, low:high], S[..., low:high, :])
    return mel


@lru_cache(maxsize=32)
def _filter_bands(
    *, sr: float, n_fft: int, n_mels: int, fmin: float, fmax: float | None
) -> tuple[tuple[int, int, int, int], ...]:
    """`(first, last, low, high)`: filters `first:last` are zero outside FFT bins `low:high`.

    Mel filters are narrow triangles, so multiplying groups of a few neighbours by only the bins they
    cover does about a fourteenth of the dense product's work (n_mels=128, n_fft=4096).
    """
    weights = mel_filterbank(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)
    bands = []
    for first in range(0, n_mels, _BAND_FILTERS):
        last = min(first + _BAND_FILTERS, n_mels)
        covered = np.flatnonzero(weights[first:last].any(axis=0))
        if covered.size:
            bands.append((first, last, int(covered[0]), int(covered[-1]) + 1))
    return tuple(bands)


@lru_cache(maxsize=8)
def _dct_matrix(n_out: int, n_in: int) -> np.ndarray:
    """First `n_out` rows of the orthonormal DCT-II of size `n_in`."""
    k = np.arange(n_out)[:, None]
    n = np.arange(n_in)[None, :]
    basis = np.cos(np.pi * k * (2 * n + 1) / (2 * n_in)) * np.sqrt(2.0 / n_in)
    basis[0] /= np.sqrt(2.0)
    basis.flags.writeable = False
    return basis


def mfcc(
    *,
    y: Any = None,
    sr: float = 22050,
    S: Any = None,
    n_mfcc: int = 20,
    n_fft: int = 2048,
    hop_length: int = 512,
    n_mels: int = 128,
    fmin: float = 0.0,
    fmax: float | None = None,
    top_db: float | None = 80.0,
    xp: ModuleType | None = None,
) -> Any:
    """Mel-frequency cepstral coefficients `(..., n_mfcc, frames)`.

    `S` is a log-power mel spectrogram in dB `(..., n_mels, frames)`; from `y` it is
    `power_to_db(melspectrogram(y), top_db=top_db)`. Coefficients are the orthonormal DCT-II of the
    dB values across mel bands.
    """
    if S is None:
        mel = melspectrogram(
            y=y, sr=sr, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels, fmin=fmin, fmax=fmax, xp=xp
        )
        S = power_to_db(mel, top_db=top_db, xp=xp)
    S, xp = _matrix(S, xp=xp)
    if not 0 < n_mfcc <= S.shape[-2]:
        raise ParameterError(f"n_mfcc must be in 1..{S.shape[-2]} (the mel bands), got {n_mfcc}")
    return xp.matmul(xp.asarray(_dct_matrix(n_mfcc, S.shape[-2]), dtype=S.dtype), S)
