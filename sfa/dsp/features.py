"""Frame-wise spectral and temporal descriptors: centroid, rolloff, RMS energy, zero-crossing rate."""

from types import ModuleType
from typing import Any

import numpy as np

from .errors import ParameterError
from .spectrum import _matrix, _signal, _spectrogram, fft_frequencies, frame_sums

_ROLLOFF_BLOCK = 64


def _frequency_column(sr: float, n_fft: int, dtype: Any, xp: ModuleType) -> Any:
    return xp.asarray(fft_frequencies(sr=sr, n_fft=n_fft), dtype=dtype)


def spectral_centroid(
    *,
    y: Any = None,
    sr: float = 22050,
    S: Any = None,
    n_fft: int = 2048,
    hop_length: int = 512,
    window: str = "hann",
    center: bool = True,
    xp: ModuleType | None = None,
) -> Any:
    """Magnitude-weighted mean frequency, Hz, `(..., 1, frames)`; 0 for silent frames.

    `S` is a magnitude spectrogram `(..., 1 + n_fft // 2, frames)`.
    """
    S, n_fft, xp = _spectrogram(
        y=y, S=S, n_fft=n_fft, hop_length=hop_length, power=1.0, window=window, center=center, xp=xp
    )
    freq = _frequency_column(sr, n_fft, S.dtype, xp)
    total = xp.sum(S, axis=-2, keepdims=True)
    weighted = xp.matmul(freq, S)[..., None, :]
    return weighted / xp.where(total < np.finfo(S.dtype).tiny, 1.0, total)


def spectral_rolloff(
    *,
    y: Any = None,
    sr: float = 22050,
    S: Any = None,
    n_fft: int = 2048,
    hop_length: int = 512,
    window: str = "hann",
    center: bool = True,
    roll_percent: float = 0.85,
    xp: ModuleType | None = None,
) -> Any:
    """Lowest bin frequency below which `roll_percent` of the frame's magnitude lies, Hz, `(..., 1, frames)`.

    `S` is a magnitude spectrogram `(..., 1 + n_fft // 2, frames)`. Silent frames give 0 Hz.
    """
    S, n_fft, xp = _spectrogram(
        y=y, S=S, n_fft=n_fft, hop_length=hop_length, power=1.0, window=window, center=center, xp=xp
    )
    if not 0.0 < roll_percent < 1.0:
        raise ParameterError(f"roll_percent must lie strictly between 0 and 1, got {roll_percent}")
    return _frequency_column(sr, n_fft, S.dtype, xp)[_first_bin_reaching(S, roll_percent, xp)]


def _first_bin_reaching(S: Any, share: float, xp: ModuleType) -> Any:
    """Per frame, the first bin where the running total of `S` reaches `share` of the frame's total,
    `(..., 1, frames)`.

    A running total over every bin is the slow part of a rolloff; totals over blocks of bins find the
    block where the share is reached, and only that block is summed bin by bin.
    """
    bins, width = S.shape[-2], _ROLLOFF_BLOCK
    whole = bins - bins % width
    lead, frames = S.shape[:-2], S.shape[-1]
    block_sums = S[..., :whole, :].reshape(*lead, whole // width, width, frames).sum(axis=-2)
    tail = S[..., whole:, :].sum(axis=-2, keepdims=True)
    running = xp.cumsum(xp.concatenate((block_sums, tail), axis=-2), axis=-2)
    threshold = share * running[..., -1:, :]
    block = xp.sum(running < threshold, axis=-2, keepdims=True)
    before = xp.where(block > 0, xp.take_along_axis(running, xp.maximum(block - 1, 0), axis=-2), 0)
    inside = block * width + xp.arange(width)[:, None]
    values = xp.where(inside < bins, xp.take_along_axis(S, xp.minimum(inside, bins - 1), axis=-2), 0)
    reached = xp.sum(before + xp.cumsum(values, axis=-2) < threshold, axis=-2, keepdims=True)
    return block * width + reached


def rms(
    *,
    y: Any = None,
    S: Any = None,
    frame_length: int = 2048,
    hop_length: int = 512,
    center: bool = True,
    xp: ModuleType | None = None,
) -> Any:
    """Root-mean-square amplitude per frame, `(..., 1, frames)`, in the units of `y`.

    From `y`, frames are zero-padded when centred. From a magnitude spectrogram `S` (of a
    Hann-windowed STFT with `n_fft == frame_length`), it is the Parseval estimate librosa uses.
    """
    if S is not None:
        S, xp = _matrix(S, xp=xp)
        if S.shape[-2] != frame_length // 2 + 1:
            raise ParameterError(f"S has {S.shape[-2]} bins, expected {frame_length // 2 + 1} for frame_length")
        power = xp.abs(S) ** 2
        power[..., 0, :] *= 0.5
        if frame_length % 2 == 0:
            power[..., -1, :] *= 0.5
        return xp.sqrt(2 * xp.sum(power, axis=-2, keepdims=True) / frame_length**2)
    y, xp = _signal(y, xp=xp)
    energy = frame_sums(
        y,
        lambda span: span * span,
        frame_length=frame_length,
        hop_length=hop_length,
        out_dtype=y.dtype,
        center=center,
        xp=xp,
    )
    return xp.sqrt(energy / frame_length)


def zero_crossing_rate(
    y: Any,
    *,
    frame_length: int = 2048,
    hop_length: int = 512,
    center: bool = True,
    threshold: float = 1e-10,
    xp: ModuleType | None = None,
) -> Any:
    """Fraction of sample pairs in each frame that change sign, `(..., 1, frames)`, in [0, 1).

    Samples with `|y| <= threshold` count as zero, and zero counts as positive. Centred frames are
    padded by repeating the edge samples, so padding adds no crossings.
    """
    y, xp = _signal(y, xp=xp)

    def sign_changes(span: Any) -> Any:
        """1 where a sample's sign differs from the one before it (0 for the stretch's first sample)."""
        negative = span < -threshold
        changed = xp.zeros(span.shape, dtype=span.dtype)
        changed[..., 1:] = negative[..., 1:] != negative[..., :-1]
        return changed

    changes = frame_sums(
        y,
        sign_changes,
        frame_length=frame_length,
        hop_length=hop_length,
        out_dtype=y.dtype,
        skip=1,
        center=center,
        pad_mode="edge",
        xp=xp,
    )
    return changes / frame_length
