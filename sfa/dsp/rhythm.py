"""Onset strength, global tempo and beat positions."""

from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np
import scipy.fft

from .backend import array_module, block_samples, irfft, rfft, to_numpy
from .errors import ParameterError
from .features import rms as frame_rms
from .mel import melspectrogram
from .spectrum import _matrix, power_to_db

AGGREGATES = ("mean", "median")
# A candidate beat is halved when every other beat is weaker than this share of its neighbours...
_HALVE_RATIO = 0.45
# ...and doubled when the points halfway between its beats carry at least this share of the beats'
# accent (the snares between a drum and bass kick's beats: 0.65-0.75)...
_DOUBLE_RATIO = 0.6
# ...but not doubled when the doubled beat's own midpoints carry this share: then every level is evenly
# filled (eighths and sixteenths as loud as the beat) and the prior's choice stands.
_SUBDIVIDED = 0.5
PULSE_THRESHOLD = 2.5
_MIN_BPM = 30.0
_SLOWEST_HALVED = 60.0


def onset_strength(
    *,
    y: Any = None,
    sr: float = 22050,
    S: Any = None,
    n_fft: int = 2048,
    hop_length: int = 512,
    lag: int = 1,
    n_mels: int = 128,
    center: bool = True,
    aggregate: str = "mean",
    xp: ModuleType | None = None,
) -> Any:
    """Spectral flux onset envelope `(..., frames)`: positive dB rise per mel band, aggregated.

    `S` is a log-power mel spectrogram in dB `(..., n_mels, frames)`; from `y` it is
    `power_to_db(melspectrogram(y))`. With `center`, the envelope is shifted so that frame `t`
    lines up with STFT frame `t`. Units: dB per frame.
    """
    if S is None:
        mel = melspectrogram(y=y, sr=sr, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels, xp=xp)
        S = power_to_db(mel, xp=xp)
    S, xp = _matrix(S, xp=xp)
    if lag < 1:
        raise ParameterError(f"lag must be a positive integer, got {lag}")
    if aggregate not in AGGREGATES:
        raise ParameterError(f"aggregate must be one of {AGGREGATES}, got {aggregate!r}")
    rise = xp.maximum(0.0, S[..., lag:] - S[..., :-lag])
    flux = xp.mean(rise, axis=-2) if aggregate == "mean" else xp.median(rise, axis=-2)
    shift = lag + (n_fft // (2 * hop_length) if center else 0)
    pad = [(0, 0)] * (flux.ndim - 1) + [(shift, 0)]
    return xp.pad(flux, pad)[..., : S.shape[-1]]


def _envelope(onset_envelope: Any, y: Any, sr: float, hop_length: int, xp: ModuleType | None) -> Any:
    """A 1-D floating onset envelope on its own backend, computed from `y` when not given."""
    if onset_envelope is None:
        onset_envelope = onset_strength(y=y, sr=sr, hop_length=hop_length, xp=xp)
    xp = xp or array_module(onset_envelope)
    envelope = xp.asarray(onset_envelope)
    if envelope.ndim != 1:
        raise ParameterError(f"tempo and beats need a mono onset envelope (frames,), got shape {envelope.shape}")
    if not np.issubdtype(envelope.dtype, np.floating):
        envelope = envelope.astype(np.float64)
    return envelope


def _on_host(envelope: Any) -> np.ndarray:
    return np.asarray(to_numpy(envelope), dtype=np.float64)


def tempogram_mean(envelope: Any, *, win_length: int) -> np.ndarray:
    """Mean over frames of the local autocorrelation tempogram, `(win_length,)` indexed by lag in frames.

    Each centred, Hann-windowed `win_length` stretch of the envelope is autocorrelated and scaled
    so its lag-0 value is 1, as librosa's `tempogram`; frames are processed in blocks. The work runs
    on the envelope's backend and in its precision (float32 from `analyze`, half the FFT work).
    """
    xp = array_module(envelope)
    n = envelope.shape[-1]
    half = win_length // 2
    padded = xp.pad(envelope, (half, half), mode="linear_ramp", end_values=(0, 0))
    frames = xp.lib.stride_tricks.sliding_window_view(padded, win_length)[:n]
    window = xp.asarray(np.hanning(win_length + 1)[:-1], dtype=envelope.dtype)
    n_pad = scipy.fft.next_fast_len(2 * win_length - 1, real=True)
    total = xp.zeros(win_length, dtype=np.float64)
    block = max(1, block_samples(xp) // n_pad)
    # Zero-padded here once rather than by the FFT's `n`, which pocketfft does several times slower.
    padded_frames = xp.zeros((min(block, n), n_pad), dtype=envelope.dtype)
    for start in range(0, n, block):
        count = min(block, n - start)
        padded_frames[:count, :win_length] = frames[start : start + count] * window
        spectrum = rfft(padded_frames[:count], axis=-1, xp=xp)
        spectrum *= spectrum.conj()
        acf = irfft(spectrum, n=n_pad, axis=-1, xp=xp)[:, :win_length]
        peak = xp.max(xp.abs(acf), axis=-1, keepdims=True)
        total += xp.sum(acf / xp.where(peak < np.finfo(acf.dtype).tiny, 1.0, peak), axis=0)
    return to_numpy(total) / n


@dataclass(frozen=True)
class TempoEstimate:
    """A tempo decision: `bpm` (None when there is no steady pulse, with the `reason`) and the pulse's
    strength: its periodicity in standard deviations of what noise would show (see `estimate_tempo`)."""

    bpm: float | None
    strength: float
    reason: str | None = None


def autocorrelation_tempo(
    *,
    y: Any = None,
    sr: float = 22050,
    onset_envelope: Any = None,
    hop_length: int = 512,
    start_bpm: float = 120.0,
    std_bpm: float = 1.0,
    ac_size: float = 8.0,
    max_tempo: float = 320.0,
    xp: ModuleType | None = None,
) -> float:
    """librosa's tempo: the strongest lag of the mean autocorrelation tempogram (`ac_size` seconds)
    under a log-normal prior centred on `start_bpm` with `std_bpm` octaves; 0.0 without onsets.

    The lag is refined below one frame from the peaks at its multiples, so fast tempi are not rounded
    to the frame grid. Kept for parity with librosa; `tempo` is the listener's tempo.
    """
    envelope = _envelope(onset_envelope, y, sr, hop_length, xp)
    _check_prior(start_bpm, std_bpm, max_tempo)
    if ac_size <= 0:
        raise ParameterError("ac_size must be positive")
    if not bool(envelope.any()):
        return 0.0
    fps = sr / hop_length
    win_length = max(3, int(ac_size * sr) // hop_length)
    tg = tempogram_mean(envelope, win_length=win_length)
    bpms = 60.0 * fps / np.arange(1, win_length)
    score = np.log1p(1e6 * tg[1:]) + _log_prior(bpms, start_bpm, std_bpm)
    score[bpms >= max_tempo] = -np.inf
    return float(60.0 * fps / _refine_period(tg, int(np.argmax(score)) + 1))


def tempo(**arguments: Any) -> float:
    """The tempo a listener taps, in BPM; 0.0 when there is no steady pulse (silence, speech, noise).

    Takes `estimate_tempo`'s keyword arguments (`y` or `onset_envelope`, `sr`, `rms`, ...).
    """
    return estimate_tempo(**arguments).bpm or 0.0


def estimate_tempo(
    *,
    y: Any = None,
    sr: float = 22050,
    onset_envelope: Any = None,
    rms: Any = None,
    hop_length: int = 512,
    start_bpm: float = 120.0,
    std_bpm: float = 1.0,
    max_tempo: float = 320.0,
    xp: ModuleType | None = None,
) -> TempoEstimate:
    """The listener's tempo, or None with a reason when the signal has no steady pulse.

    1. Periodicity: the autocorrelation of the onset envelope after removing its 1-second moving
       average, over the whole signal (one FFT on the envelope's backend), scaled to 1 at lag 0.
    2. Beat period: the lag whose periodicity, with half weight on half and twice that lag (the
       subdivision and the grouping a beat sits between), scores best under librosa's log-normal
       prior (`start_bpm`, `std_bpm` octaves); refined below a frame from the peaks at its multiples.
    3. Pulse strength: the mean periodicity at 1-4 periods times the square root of the envelope's
       length, i.e. in standard deviations of noise's autocorrelation. Below `PULSE_THRESHOLD` (2.5;
       noise and speech measure 1-2, the most weakly pulsed music in `bench.accuracy` 3) there is no
       tempo.
    4. Metrical level, from loudness accents (frame RMS `rms` `(frames,)`; from `y` over
       `4 * hop_length` samples when given, else the onset envelope stands in): the beat is halved
       (period doubled) when every other beat is weak (`_HALVE_RATIO`), unless that would fall under
       60 BPM; it is doubled when the points halfway between beats carry at least `_DOUBLE_RATIO` of the
       beats' accent and the doubled beat is not itself evenly subdivided (its midpoints under
       `_SUBDIVIDED`: a stream of equal notes gives no reason to leave the prior's choice).

    This is how 170 BPM drum and bass (kick on 1 and 3, snare on 2 and 4, hats on the eighths) is
    decided: the prior prefers 85, where the snares fall halfway between the kicks nearly as loud;
    at 170 the midpoints hold only quiet hats, so the beat is doubled to 170. Country strumming at 85
    with equally loud eighths (and sixteenths between them) stays at 85.
    """
    envelope = _envelope(onset_envelope, y, sr, hop_length, xp)
    if rms is None and y is not None:
        rms = frame_rms(y=y, frame_length=4 * hop_length, hop_length=hop_length, xp=xp)[..., 0, :]
    accent = _on_host(envelope if rms is None else rms)
    if accent.shape != envelope.shape:
        raise ParameterError(f"rms has shape {accent.shape}, the onset envelope {envelope.shape}")
    _check_prior(start_bpm, std_bpm, max_tempo)
    if not bool(envelope.any()):
        return TempoEstimate(None, 0.0, "silence: no onsets")
    fps = sr / hop_length
    periodicity = pulse_autocorrelation(envelope, fps)
    n = len(periodicity)
    lags = np.arange(max(2, int(np.ceil(60.0 * fps / max_tempo))), min(n // 2, int(60.0 * fps / _MIN_BPM) + 1))
    if not len(lags):
        return TempoEstimate(None, 0.0, f"too short to find a pulse ({n / fps:.1f} s)")
    positive = np.maximum(periodicity, 0.0)
    grid = np.arange(n)
    salience = (0.5 * np.interp(lags / 2, grid, positive) + positive[lags]
                + 0.5 * np.interp(2 * lags, grid, positive, right=0.0))
    score = np.log(np.maximum(salience, 1e-6)) + _log_prior(60.0 * fps / lags, start_bpm, std_bpm)
    period = _refine_period(periodicity, int(lags[int(np.argmax(score))]))
    strength = _pulse_strength(periodicity, period)
    if strength < PULSE_THRESHOLD:
        return TempoEstimate(None, strength, f"no steady pulse (strength {strength:.1f}, "
                                             f"music measures at least {PULSE_THRESHOLD})")
    period = _metrical_level(period, accent, fps * 60.0 / max_tempo, fps * 60.0 / _SLOWEST_HALVED)
    return TempoEstimate(float(60.0 * fps / period), strength)


def pulse_autocorrelation(envelope: Any, fps: float) -> np.ndarray:
    """Autocorrelation `(frames,)` of the onset envelope less its 1-second moving average, 1 at lag 0,
    computed on the envelope's backend (one FFT) and returned on the host."""
    xp = array_module(envelope)
    n = envelope.shape[-1]
    half = max(1, round(fps / 2))
    padded = xp.pad(envelope.astype(np.float64), (half + 1, half), mode="edge")
    sums = xp.cumsum(padded)
    detrended = envelope - (sums[2 * half + 1 :] - sums[: -2 * half - 1]) / (2 * half + 1)
    size = scipy.fft.next_fast_len(2 * n, real=True)
    spectrum = rfft(detrended, n=size, xp=xp)
    acf = to_numpy(irfft(spectrum.real**2 + spectrum.imag**2, n=size, xp=xp)[:n])
    return acf / acf[0] if acf[0] > 0 else np.zeros(n)


def _pulse_strength(periodicity: np.ndarray, period: float) -> float:
    """Mean periodicity at 1-4 beat periods (best within a frame), in units of noise's 1 / sqrt(n)."""
    n = len(periodicity)
    values = []
    for multiple in range(1, 5):
        lag = round(multiple * period)
        if lag >= n // 2 and values:
            break
        values.append(periodicity[max(0, lag - 1) : lag + 2].max())
    return float(np.mean(values) * np.sqrt(n))


def _log_prior(bpms: np.ndarray, start_bpm: float, std_bpm: float) -> np.ndarray:
    return -0.5 * ((np.log2(bpms) - np.log2(start_bpm)) / std_bpm) ** 2


def _check_prior(start_bpm: float, std_bpm: float, max_tempo: float) -> None:
    if start_bpm <= 0 or std_bpm <= 0 or max_tempo <= 0:
        raise ParameterError("start_bpm, std_bpm and max_tempo must be positive")


def _metrical_level(period: float, accent: np.ndarray, shortest: float, longest: float) -> float:
    """Double or halve the beat `period` (frames) while the accent pattern says it is the wrong level."""
    rise = np.maximum(0.0, np.diff(accent, prepend=accent[:1]))
    peaks = np.lib.stride_tricks.sliding_window_view(np.pad(rise, 2), 5).max(axis=-1)
    direction = 0.0
    for _ in range(2):
        midpoint_share, alternation = _accent_ratios(peaks, period)
        if direction <= 0 and alternation < _HALVE_RATIO and 2 * period <= longest:
            direction, period = -1.0, 2 * period
        elif (direction >= 0 and midpoint_share >= _DOUBLE_RATIO and period / 2 >= shortest
              and _accent_ratios(peaks, period / 2)[0] < _SUBDIVIDED):
            direction, period = 1.0, period / 2
        else:
            break
    return period


def _accent_ratios(peaks: np.ndarray, period: float) -> tuple[float, float]:
    """For beats every `period` frames at their best phase: midpoint accent over beat accent, and the
    weaker over the stronger of the even and odd beats' mean accents."""
    count = int((len(peaks) - period - 1) // period)
    if count < 2:
        return 0.0, 1.0
    phases = np.arange(int(np.ceil(period)))
    grid = period * np.arange(count)
    positions = np.round(phases[:, None] + grid[None, :]).astype(np.int64)
    on = peaks[positions]
    best = int(np.argmax(on.mean(axis=1)))
    beats = on[best]
    midpoints = peaks[np.round(positions[best] + period / 2).astype(np.int64)]
    tiny = np.finfo(np.float64).tiny
    even, odd = beats[0::2].mean(), beats[1::2].mean()
    return float(midpoints.mean() / max(beats.mean(), tiny)), float(min(even, odd) / max(even, odd, tiny))


def _refine_period(tg: np.ndarray, lag: int) -> float:
    """Least-squares period from parabolic peak positions near `lag`, `2 * lag`, ... up to half the window."""
    period = float(lag)
    weighted = weights = 0.0
    for multiple in range(1, (len(tg) // 2) // lag + 1):
        guess = round(multiple * period)
        if not 1 <= guess < len(tg) - 2:
            break
        peak = guess - 1 + int(np.argmax(tg[guess - 1 : guess + 2]))
        if not 1 <= peak < len(tg) - 1:
            continue
        left, centre, right = tg[peak - 1 : peak + 2]
        curvature = left - 2 * centre + right
        offset = float(np.clip(0.5 * (left - right) / curvature, -0.5, 0.5)) if curvature < 0 else 0.0
        weighted += peak + offset
        weights += multiple
        period = weighted / weights
    return period


def beat_track(
    *,
    y: Any = None,
    sr: float = 22050,
    onset_envelope: Any = None,
    rms: Any = None,
    hop_length: int = 512,
    bpm: float | None = None,
    tightness: float = 100.0,
    trim: bool = True,
    xp: ModuleType | None = None,
) -> tuple[float, np.ndarray]:
    """Tempo (BPM) and beat frames `(beats,)` int64 by Ellis' dynamic programming, as librosa.

    Beats are onset peaks spaced close to the tempo period (`tightness` punishes deviation).
    `bpm` defaults to `tempo(...)`, which also uses `rms`. Without onsets or without a steady pulse
    the answer is `(0.0, [])`. Multiply frames by `hop_length / sr` for seconds.
    """
    envelope = _envelope(onset_envelope, y, sr, hop_length, xp)
    if tightness <= 0:
        raise ParameterError(f"tightness must be positive, got {tightness}")
    if bpm is not None and bpm <= 0:
        raise ParameterError(f"bpm must be positive, got {bpm}")
    if not bool(envelope.any()):
        return 0.0, np.zeros(0, dtype=np.int64)
    if bpm is None:
        bpm = tempo(y=y, onset_envelope=envelope, rms=rms, sr=sr, hop_length=hop_length, xp=xp)
        if not bpm:
            return 0.0, np.zeros(0, dtype=np.int64)
    period = float(np.round(sr / hop_length * 60.0 / bpm))
    localscore = _local_score(_on_host(envelope), period)
    backlink, cumscore = _beat_dp(localscore, period, tightness)
    beats = []
    frame = _last_beat(cumscore)
    while frame >= 0:
        beats.append(frame)
        frame = backlink[frame]
    beats = np.array(beats[::-1], dtype=np.int64)
    return float(bpm), _trim_beats(localscore, beats, trim)


def _local_score(envelope: np.ndarray, period: float) -> np.ndarray:
    normalized = envelope / (envelope.std(ddof=1) + np.finfo(envelope.dtype).tiny)
    window = np.exp(-0.5 * (np.arange(-period, period + 1) * 32.0 / period) ** 2)
    half = len(window) // 2
    return np.convolve(normalized, window)[half : half + len(envelope)]


def _beat_dp(localscore: np.ndarray, period: float, tightness: float) -> tuple[np.ndarray, np.ndarray]:
    """Best cumulative score ending with a beat at each frame, and the previous beat it came from.

    Frame `i` may follow a beat `d` frames earlier, `round(period / 2) <= d <= 2 * period`, so a
    block of `round(period / 2)` frames depends only on frames before it and is solved at once. Frames
    before the first block have no predecessor; candidates before the track start score -inf.
    """
    n = len(localscore)
    offsets = np.arange(max(1, int(np.round(period / 2))), int(2 * period) + 1)
    penalty = -tightness * (np.log(offsets) - np.log(period)) ** 2
    step, reach = int(offsets[0]), int(offsets[-1])
    padded = np.full(reach + n, -np.inf)
    cumscore = padded[reach:]
    cumscore[:step] = localscore[:step]
    backlink = np.full(n, -1, dtype=np.int64)
    rows = np.arange(step)
    lags = rows[:, None] - offsets[None, :]
    for start in range(step, n, step):
        count = min(step, n - start)
        scores = padded[reach + start + lags[:count]] + penalty
        best = np.argmax(scores, axis=1)
        cumscore[start : start + count] = localscore[start : start + count] + scores[rows[:count], best]
        backlink[start : start + count] = start + lags[rows[:count], best]
    first_onset = int(np.argmax(localscore >= 0.01 * localscore.max()))
    backlink[:first_onset] = -1
    return backlink, cumscore


def _last_beat(cumscore: np.ndarray) -> int:
    """The last local maximum of `cumscore` scoring at least half the median local maximum."""
    padded = np.pad(cumscore, 1, mode="edge")
    peaks = (cumscore > padded[:-2]) & (cumscore >= padded[2:])
    if not peaks.any():
        return len(cumscore) - 1
    threshold = 0.5 * np.median(cumscore[peaks])
    candidates = np.flatnonzero(peaks & (cumscore >= threshold))
    return int(candidates[-1]) if len(candidates) else len(cumscore) - 1


def _trim_beats(localscore: np.ndarray, beats: np.ndarray, trim: bool) -> np.ndarray:
    """Drop beats before the first and after the last frame whose local score beats the threshold."""
    threshold = 0.0
    if trim and len(beats):
        smooth = np.convolve(localscore[beats], np.hanning(5))[2 : len(localscore) + 2]
        threshold = 0.5 * np.sqrt(np.mean(smooth**2))
    strong = np.flatnonzero(localscore > threshold)
    if not len(strong):
        return beats[:0]
    return beats[(beats >= strong[0]) & (beats <= strong[-1])]
