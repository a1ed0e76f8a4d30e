"""Framing, the centred short-time Fourier transform, and decibel scaling.

Shapes follow librosa: a signal is `(..., n)` samples, a spectrogram `(..., 1 + n_fft // 2, frames)`.
Frame `t` is centred on sample `t * hop_length`; with `center=True` the signal is padded by
`n_fft // 2` samples each side, so there are `1 + n // hop_length` frames.
"""

import math
from collections.abc import Callable
from functools import lru_cache
from types import ModuleType
from typing import Any

import numpy as np
import scipy.signal

from .backend import array_module, block_samples, rfft
from .errors import ParameterError

PAD_MODES = ("constant", "edge")


def _signal(y: Any, *, xp: ModuleType | None) -> tuple[Any, ModuleType]:
    """Normalise a signal to a floating array on `xp` (picked from `y` when None) and validate it.

    Integer input becomes float32; float32 and float64 are kept, so callers choose the precision.
    Non-finite samples are rejected rather than cleaned: a NaN in the input is a decoding bug
    upstream, and silently zeroing it would hide that.
    """
    xp = xp or array_module(y)
    y = xp.asarray(y)
    if not np.issubdtype(y.dtype, np.floating) or y.dtype.itemsize < 4:
        y = y.astype(np.float32)
    if y.ndim < 1 or y.shape[-1] == 0:
        raise ParameterError(f"audio must have at least one sample on its last axis, got shape {y.shape}")
    if not bool(xp.isfinite(y).all()):
        raise ParameterError("audio contains NaN or infinite samples")
    return y, xp


def _matrix(S: Any, *, xp: ModuleType | None) -> tuple[Any, ModuleType]:
    """Normalise a `(..., rows, frames)` feature matrix onto `xp` (picked from `S` when None)."""
    xp = xp or array_module(S)
    S = xp.asarray(S)
    if S.ndim < 2:
        raise ParameterError(f"a spectrogram needs (..., bins, frames) dimensions, got shape {S.shape}")
    return S, xp


def _spectrogram(
    *,
    y: Any,
    S: Any,
    n_fft: int,
    hop_length: int,
    power: float,
    window: str,
    center: bool,
    xp: ModuleType | None,
) -> tuple[Any, int, ModuleType]:
    """Return `(S, n_fft, xp)`: `S` as given, or `|stft(y)| ** power`; `n_fft` inferred from `S`."""
    if S is not None:
        S, xp = _matrix(S, xp=xp)
        if n_fft // 2 + 1 != S.shape[-2]:
            n_fft = 2 * (S.shape[-2] - 1)
        return S, n_fft, xp
    if y is None:
        raise ParameterError("pass either a signal y or a spectrogram S")
    y, xp = _signal(y, xp=xp)
    if power == 2.0:
        def transform(frames: Any) -> Any:
            spec = rfft(frames, axis=-1, xp=xp)
            return spec.real**2 + spec.imag**2
    else:
        def transform(frames: Any) -> Any:
            return xp.abs(rfft(frames, axis=-1, xp=xp)) ** power
    S = frame_map(
        y,
        transform,
        frame_length=n_fft,
        hop_length=hop_length,
        out_size=n_fft // 2 + 1,
        out_dtype=y.dtype,
        window=window,
        center=center,
        xp=xp,
    )
    return S, n_fft, xp


@lru_cache(maxsize=32)
def _window(name: str, length: int, dtype: str) -> np.ndarray:
    win = scipy.signal.get_window(name, length, fftbins=True).astype(dtype)
    win.flags.writeable = False
    return win


def _framed(
    y: Any, *, frame_length: int, hop_length: int, center: bool, pad_mode: str, xp: ModuleType
) -> tuple[Any, int]:
    """`y` padded for centred frames (when `center`), and how many whole frames it holds."""
    if frame_length < 1 or hop_length < 1:
        raise ParameterError(f"frame_length and hop_length must be positive, got {frame_length}, {hop_length}")
    if pad_mode not in PAD_MODES:
        raise ParameterError(f"pad_mode must be one of {PAD_MODES}, got {pad_mode!r}")
    if center:
        pad = [(0, 0)] * (y.ndim - 1) + [(frame_length // 2, frame_length // 2)]
        y = xp.pad(y, pad, mode=pad_mode)
    if y.shape[-1] < frame_length:
        raise ParameterError(f"signal of {y.shape[-1]} samples is shorter than frame_length={frame_length}")
    return y, 1 + (y.shape[-1] - frame_length) // hop_length


def frame_map(
    y: Any,
    transform: Callable[[Any], Any],
    *,
    frame_length: int,
    hop_length: int,
    out_size: int,
    out_dtype: Any,
    window: str | None = None,
    center: bool = True,
    pad_mode: str = "constant",
    xp: ModuleType,
) -> Any:
    """Apply `transform` to blocks of frames of `y` and stack the results as `(..., out_size, frames)`.

    `transform` maps `(..., block, frame_length)` frames (multiplied by `window` when given) to
    `(..., block, out_size)`. Blocks bound the temporary memory (see `block_samples`).
    """
    y, n_frames = _framed(
        y, frame_length=frame_length, hop_length=hop_length, center=center, pad_mode=pad_mode, xp=xp
    )
    frames = xp.lib.stride_tricks.sliding_window_view(y, frame_length, axis=-1)[..., ::hop_length, :]
    win = None if window is None else xp.asarray(_window(window, frame_length, y.dtype.name))
    out = xp.empty((*y.shape[:-1], n_frames, out_size), dtype=out_dtype)
    block = max(1, block_samples(xp) // frame_length)
    for start in range(0, n_frames, block):
        chunk = frames[..., start : start + block, :]
        out[..., start : start + block, :] = transform(chunk if win is None else chunk * win)
    return xp.swapaxes(out, -1, -2)


def frame_sums(
    y: Any,
    values: Callable[[Any], Any],
    *,
    frame_length: int,
    hop_length: int,
    out_dtype: Any,
    skip: int = 0,
    center: bool = True,
    pad_mode: str = "constant",
    xp: ModuleType,
) -> Any:
    """Per-frame sums `(..., 1, frames)` of `values(span)`, one value per sample of a stretch of `y`, over
    samples `skip..frame_length-1` of each frame.

    Values are summed once per run of `gcd(frame_length, hop_length)` samples and each frame adds up its
    runs, so the signal is read once however much the frames overlap (four times, at librosa's 2048/512).
    """
    y, n_frames = _framed(
        y, frame_length=frame_length, hop_length=hop_length, center=center, pad_mode=pad_mode, xp=xp
    )
    run = math.gcd(frame_length, hop_length)
    out = xp.empty((*y.shape[:-1], n_frames), dtype=out_dtype)
    block = max(1, block_samples(xp) // hop_length)
    for start in range(0, n_frames, block):
        count = min(block, n_frames - start)
        first = start * hop_length
        per_sample = values(y[..., first : first + (count - 1) * hop_length + frame_length])
        runs = per_sample.reshape(*per_sample.shape[:-1], -1, run).sum(axis=-1)
        windows = xp.lib.stride_tricks.sliding_window_view(runs, frame_length // run, axis=-1)
        sums = windows[..., :: hop_length // run, :].sum(axis=-1)
        for offset in range(skip):
            sums -= per_sample[..., offset : offset + (count - 1) * hop_length + 1 : hop_length]
        out[..., start : start + count] = sums
    return out[..., None, :]


def stft(
    y: Any,
    *,
    n_fft: int = 2048,
    hop_length: int = 512,
    window: str = "hann",
    center: bool = True,
    xp: ModuleType | None = None,
) -> Any:
    """Short-time Fourier transform of `y` (`(..., n)` samples).

    Returns complex `(..., 1 + n_fft // 2, 1 + n // hop_length)` (with `center`), complex64 for
    float32 input and complex128 for float64. Padding is zeros, as librosa's default.
    """
    y, xp = _signal(y, xp=xp)
    return frame_map(
        y,
        lambda frames: rfft(frames, axis=-1, xp=xp),
        frame_length=n_fft,
        hop_length=hop_length,
        out_size=n_fft // 2 + 1,
        out_dtype=xp.result_type(y.dtype, xp.complex64),
        window=window,
        center=center,
        xp=xp,
    )


def frame_parameters(sr: float) -> tuple[int, int]:
    """`(n_fft, hop_length)` for `sr`: librosa's 2048/512 at 22.05 kHz, scaled by the power of two
    nearest `sr / 22050`, so any rate gets frames of 66 to 131 ms at 30 to 61 frames a second."""
    scale = 2.0 ** round(math.log2(sr / 22050))
    return max(16, int(2048 * scale)), max(4, int(512 * scale))


def fft_frequencies(*, sr: float, n_fft: int) -> np.ndarray:
    """Centre frequency in Hz of each STFT bin: `(1 + n_fft // 2,)`."""
    return np.fft.rfftfreq(n_fft, d=1.0 / sr)


def power_to_db(
    S: Any,
    *,
    ref: float = 1.0,
    amin: float = 1e-10,
    top_db: float | None = 80.0,
    xp: ModuleType | None = None,
) -> Any:
    """Power (e.g. `|stft|**2` or a mel spectrogram) to decibels: `10 * log10(max(S, amin) / ref)`.

    With `top_db`, values are floored at `max - top_db` over the whole array. Same shape as `S`, dB.
    """
    xp = xp or array_module(S)
    S = xp.asarray(S)
    if amin <= 0:
        raise ParameterError(f"amin must be strictly positive, got {amin}")
    if top_db is not None and top_db < 0:
        raise ParameterError(f"top_db must be non-negative, got {top_db}")
    log_spec = 10.0 * xp.log10(xp.maximum(S, amin))
    log_spec -= float(10.0 * np.log10(max(amin, abs(ref))))
    if top_db is not None:
        log_spec = xp.maximum(log_spec, log_spec.max() - top_db)
    return log_spec
