"""One-call track summary for the analysis job, streamed so an hour of audio stays within memory.

The audio is downmixed to mono and cut into stretches of whole STFT frames. Each stretch feeds the
frame-wise feature functions with `center=False` (the stream supplies the centring padding), so
the summary equals what the feature functions give on the whole signal. Only per-frame mel bands
(for MFCC and onsets, whose dB floor depends on the whole track), frame RMS and running sums are
kept: about 75 MB per hour.
"""

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from os import PathLike
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import soundfile

from .backend import get_xp, to_numpy
from .chroma import chroma_stft
from .errors import AudioDecodeError, ParameterError
from .features import rms, spectral_centroid, spectral_rolloff, zero_crossing_rate
from .harmony import bass_treble_chroma, beat_chords, estimate_tuning, key_pitch_classes
from .key import key_from_profile
from .mel import melspectrogram, mfcc
from .rhythm import beat_track, estimate_tempo, onset_strength
from .spectrum import _signal, _spectrogram, frame_parameters, power_to_db

FEATURE_GROUPS = ("tempo", "key", "energy", "spectral", "mfcc", "chroma", "chords")
_READ_BLOCK = 1 << 18
_CURVE_BIN_S = 0.5
_CURVE_MAX_POINTS = 1000
_TOP_DB = 80.0



def analyze(
    y: Any, sr: float, *, features: Sequence[str] = FEATURE_GROUPS, xp: ModuleType | None = None
) -> dict[str, Any]:
    """Summarise a signal `(n,)` or `(channels, n)` at `sr` Hz (channels are averaged).

    NaN or infinite samples raise `ParameterError`. See `analyze_file` for the result.
    """
    y, _ = _signal(y, xp=None)
    if y.ndim > 2:
        raise ParameterError(f"audio must be (n,) or (channels, n), got shape {y.shape}")
    mono = y if y.ndim == 1 else y.mean(axis=0)
    starts = range(0, mono.shape[-1], _READ_BLOCK)
    blocks = (mono[start : start + _READ_BLOCK].astype(np.float32) for start in starts)
    return _summarise(blocks, sr, _groups(features), xp or get_xp())


def analyze_file(
    path: str | PathLike[str],
    *,
    features: Sequence[str] = FEATURE_GROUPS,
    xp: ModuleType | None = None,
    progress: Callable[[float], None] | None = None,
) -> dict[str, Any]:
    """Summarise an audio file (anything libsndfile reads: WAV, FLAC, OGG, MP3...), reading it in blocks.

    `features` picks groups from `FEATURE_GROUPS` (or `"all"`). The JSON-ready result has
    `duration` (s) and `sample_rate` (Hz), and per group: tempo: `tempo` (BPM; None when there is no
    steady pulse: silence, speech, noise), `tempo_reason` (why it is None, else None) and `beats` (s);
    key: `key` ("A minor", None for silence) and `key_confidence` (0..1); chords: `chords`, one
    `{"time" (s), "chord" ("C", "F#m" or "N"), "confidence" (0..1)}` per beat (none without a tempo);
    energy: `energy` (mean frame RMS, full scale 1.0) and `energy_peak` (loudest frame RMS);
    spectral: `spectral_centroid` and `spectral_rolloff` (mean Hz) and `zero_crossing_rate` (mean
    fraction); energy and spectral also give the curve over time, for plots: `energy_curve` and
    `centroid_curve`, each `{"hop_s", "values"}` (frame means over bins of 0.5 s, or longer so that a
    curve has at most 1000 points); mfcc / chroma: `features.mfcc` (20 mean coefficients) and `features.chroma` (12 mean
    pitch-class weights, C first), and chroma over time, `chroma_curve`, binned like the curves above with
    12 weights per bin. `progress`, when given, is called with the share of the file read (0..1).

    Raises `AudioDecodeError` when the file cannot be read and `ParameterError` for NaN or infinite samples
    (both are `DspError`s).
    """
    groups = _groups(features)
    try:
        with soundfile.SoundFile(path) as source:
            sr = source.samplerate
            return _summarise(_file_blocks(source, progress), sr, groups, xp or get_xp())
    except soundfile.LibsndfileError as exc:
        raise AudioDecodeError(f"cannot decode {Path(path).name}: {exc.error_string}") from exc
    except soundfile.SoundFileError as exc:
        raise AudioDecodeError(f"cannot decode {Path(path).name}") from exc


def _file_blocks(
    source: soundfile.SoundFile, progress: Callable[[float], None] | None
) -> Iterator[np.ndarray]:
    read = 0
    for block in source.blocks(blocksize=_READ_BLOCK, dtype="float32", always_2d=True):
        mono = block.mean(axis=1, dtype=np.float32)
        if not np.isfinite(mono).all():
            raise ParameterError("audio contains NaN or infinite samples")
        yield mono
        read += len(mono)
        if progress is not None and source.frames > 0:
            progress(min(1.0, read / source.frames))


def _groups(features: Sequence[str]) -> frozenset[str]:
    if isinstance(features, str):
        features = (features,)
    groups = set(FEATURE_GROUPS) if "all" in features else set(features)
    unknown = groups - set(FEATURE_GROUPS)
    if unknown:
        raise ParameterError(f"unknown features {sorted(unknown)}; expected any of {FEATURE_GROUPS} or 'all'")
    return frozenset(groups)


def _segments(
    blocks: Iterable[np.ndarray], *, n_fft: int, hop_length: int, frames: int
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield `(zero_padded, edge_padded)` stretches holding consecutive whole centred frames.

    The two differ only in the centring padding: zeros (STFT, RMS) or the edge sample (zero-crossings).
    """
    half = n_fft // 2
    span = (frames - 1) * hop_length + n_fft
    pending = [np.zeros(half, dtype=np.float32)]
    buffered = half
    offset = total = 0
    first = last = 0.0
    for block in blocks:
        if not block.size:
            continue
        if not total:
            first = block[0]
        total += block.size
        last = block[-1]
        pending.append(block)
        buffered += block.size
        if buffered < span:
            continue
        buffer = np.concatenate(pending)
        while buffer.size >= span:
            yield buffer[:span], _edge_padded(buffer[:span], offset, half, first, None, last)
            buffer = buffer[frames * hop_length :]
            offset += frames * hop_length
        pending, buffered = [buffer], buffer.size
    if not total:
        raise ParameterError("audio is empty")
    buffer = np.concatenate((*pending, np.zeros(half, dtype=np.float32)))
    remaining = 1 + total // hop_length - offset // hop_length
    while remaining > 0:
        count = min(remaining, frames)
        segment = buffer[: (count - 1) * hop_length + n_fft]
        yield segment, _edge_padded(segment, offset, half, first, half + total, last)
        buffer = buffer[count * hop_length :]
        offset += count * hop_length
        remaining -= count


def _edge_padded(
    segment: np.ndarray, offset: int, half: int, first: float, end: int | None, last: float
) -> np.ndarray:
    """`segment` (starting at padded position `offset`) with its padding replaced by the edge samples."""
    head = max(0, half - offset)
    tail = segment.size if end is None else max(0, end - offset)
    if not head and tail >= segment.size:
        return segment
    padded = segment.copy()
    padded[:head] = first
    padded[tail:] = last
    return padded


class _Accumulator:
    """Running per-frame results for one track; `add` one stretch at a time, then `result`."""

    def __init__(self, sr: float, groups: frozenset[str], xp: ModuleType) -> None:
        self.sr, self.groups, self.xp = sr, groups, xp
        self.n_fft, self.hop_length = frame_parameters(sr)
        self.frames = self.samples = 0
        self.mel_db: list[np.ndarray] = []
        self.rms: list[np.ndarray] = []
        self.centroids: list[np.ndarray] = []
        self.chromas: list[np.ndarray] = []
        self.pitch_classes: list[np.ndarray] = []
        self.tuning: float | None = None
        self.sums = {"centroid": 0.0, "rolloff": 0.0, "zcr": 0.0, "key": np.zeros(24)}

    def count(self, blocks: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        for block in blocks:
            self.samples += block.size
            yield block

    def add(self, segment: np.ndarray, edge_segment: np.ndarray) -> None:
        xp, sr, n_fft, hop = self.xp, self.sr, self.n_fft, self.hop_length
        frame_args = {"n_fft": n_fft, "hop_length": hop, "center": False, "xp": xp}
        y = xp.asarray(segment)
        energy = to_numpy(rms(y=y, frame_length=n_fft, hop_length=hop, center=False, xp=xp))[0]
        self.frames += energy.size
        if self.groups & {"energy", "tempo", "chords"}:
            self.rms.append(energy)
        if not self.groups & {"tempo", "key", "spectral", "mfcc", "chroma", "chords"}:
            return
        magnitude, _, _ = _spectrogram(y=y, S=None, power=1.0, window="hann", **frame_args)
        power = magnitude**2
        if "spectral" in self.groups:
            centroid = to_numpy(spectral_centroid(S=magnitude, sr=sr, xp=xp))[0]
            self.centroids.append(centroid)
            self.sums["centroid"] += float(centroid.sum())
            self.sums["rolloff"] += float(spectral_rolloff(S=magnitude, sr=sr, xp=xp).sum())
            zcr = zero_crossing_rate(
                xp.asarray(edge_segment), frame_length=n_fft, hop_length=hop, center=False
            )
            self.sums["zcr"] += float(zcr.sum())
        if self.groups & {"tempo", "mfcc", "chords"}:
            mel = power_to_db(melspectrogram(S=power, sr=sr, xp=xp), top_db=None, xp=xp)
            self.mel_db.append(to_numpy(mel))
        if "chroma" in self.groups:
            self.chromas.append(to_numpy(chroma_stft(S=power, sr=sr, xp=xp)).astype(np.float32))
        if self.groups & {"key", "chords"}:
            # Tuned on the first stretch (up to ~47 s) and kept: a band does not retune mid-song.
            if self.tuning is None:
                self.tuning = estimate_tuning(xp.mean(magnitude, axis=-1), sr=sr, n_fft=n_fft)
            if "key" in self.groups:
                key_pitch = key_pitch_classes(magnitude, sr=sr, n_fft=n_fft, tuning=self.tuning, xp=xp)
                self.sums["key"] += to_numpy(key_pitch.sum(axis=-1))
            if "chords" in self.groups:
                pitch = bass_treble_chroma(magnitude, sr=sr, n_fft=n_fft, tuning=self.tuning, xp=xp)
                self.pitch_classes.append(to_numpy(pitch).astype(np.float32))

    def result(self) -> dict[str, Any]:
        summary: dict[str, Any] = {
            "duration": self.samples / self.sr,
            "sample_rate": self.sr,
        }
        frame_rms = np.concatenate(self.rms) if self.rms else None
        if "energy" in self.groups:
            summary["energy"] = float(frame_rms.mean())
            summary["energy_peak"] = float(frame_rms.max())
            summary["energy_curve"] = self._curve(frame_rms)
        if "spectral" in self.groups:
            for name, key in (("spectral_centroid", "centroid"), ("spectral_rolloff", "rolloff")):
                summary[name] = self.sums[key] / self.frames
            summary["zero_crossing_rate"] = self.sums["zcr"] / self.frames
            summary["centroid_curve"] = self._curve(np.concatenate(self.centroids))
        if "key" in self.groups:
            key_mean = self.sums["key"] / self.frames
            summary["key"], summary["key_confidence"] = key_from_profile(key_mean[12:], bass=key_mean[:12])
        extra: dict[str, list[float]] = {}
        if "chroma" in self.groups:
            chroma = np.concatenate(self.chromas, axis=-1)
            self.chromas.clear()
            extra["chroma"] = [float(v) for v in chroma.sum(axis=-1, dtype=np.float64) / self.frames]
            summary["chroma_curve"] = self._curve(chroma, digits=3)
        if self.mel_db:
            mel_db = np.concatenate(self.mel_db, axis=-1)
            self.mel_db.clear()
            np.maximum(mel_db, mel_db.max() - _TOP_DB, out=mel_db)
            if "mfcc" in self.groups:
                extra["mfcc"] = [float(v) for v in mfcc(S=mel_db).mean(axis=-1)]
            if self.groups & {"tempo", "chords"}:
                summary.update(self._rhythm_and_chords(mel_db, frame_rms))
        if extra:
            summary["features"] = extra
        return summary


    def _curve(self, frames: np.ndarray, digits: int = 6) -> dict[str, Any]:
        """Frame values (the last axis) averaged over bins of `_CURVE_BIN_S` (longer for long tracks), for a
        plot: one number per bin, or one list per bin for `(rows, frames)`."""
        count = frames.shape[-1]
        per_bin = max(round(_CURVE_BIN_S * self.sr / self.hop_length), math.ceil(count / _CURVE_MAX_POINTS), 1)
        starts = np.arange(0, count, per_bin)
        sizes = np.diff(np.append(starts, count))
        means = np.add.reduceat(frames.astype(np.float64), starts, axis=-1) / sizes
        return {"hop_s": per_bin * self.hop_length / self.sr, "values": np.round(means.T, digits).tolist()}

    def _rhythm_and_chords(self, mel_db: np.ndarray, frame_rms: np.ndarray) -> dict[str, Any]:
        envelope = onset_strength(S=mel_db, n_fft=self.n_fft, hop_length=self.hop_length)
        estimate = estimate_tempo(onset_envelope=envelope, rms=frame_rms, sr=self.sr, hop_length=self.hop_length)
        beats = np.zeros(0, dtype=np.int64)
        if estimate.bpm is not None:
            _, beats = beat_track(onset_envelope=envelope, sr=self.sr, hop_length=self.hop_length, bpm=estimate.bpm)
        frame_seconds = self.hop_length / self.sr
        found: dict[str, Any] = {}
        if "tempo" in self.groups:
            found["tempo"] = estimate.bpm
            found["tempo_reason"] = estimate.reason
            found["beats"] = [round(float(b) * frame_seconds, 3) for b in beats]
        if "chords" in self.groups:
            pitch_classes = np.concatenate(self.pitch_classes, axis=-1)
            self.pitch_classes.clear()
            found["chords"] = beat_chords(pitch_classes, beats, frame_seconds)
        return found


def _summarise(
    blocks: Iterable[np.ndarray], sr: float, groups: frozenset[str], xp: ModuleType
) -> dict[str, Any]:
    if not sr > 0:
        raise ParameterError(f"sample rate must be positive, got {sr}")
    accumulator = _Accumulator(sr, groups, xp)
    blocks = accumulator.count(blocks)
    n_fft, hop_length = accumulator.n_fft, accumulator.hop_length
    for segment, edge_segment in _segments(
        blocks, n_fft=n_fft, hop_length=hop_length, frames=max(1, (1 << 22) // n_fft)
    ):
        accumulator.add(segment, edge_segment)
    return accumulator.result()
