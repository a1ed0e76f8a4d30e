"""Tuned bass and treble pitch classes, and the chord of each beat.

The chroma of `chroma.py` follows librosa (fixed A440, one band from the bass to the treble); key and
chords use their own pitch classes instead:
- tuned: the reference A is estimated from the spectrum's peaks (`estimate_tuning`), so a band a
  quarter tone flat still lands on its notes;
- compressed: the square root of the magnitude, so the loudest note does not hide the others;
- split: bass (55-220 Hz, where the chord's root usually is) and treble (220-1760 Hz) are kept apart;
- for the key, peaked: only the spectrum's local maxima count (`spectral_peaks`), so drums do not
  flatten the pitch classes of a dance track.
"""

from functools import lru_cache
from types import ModuleType
from typing import Any

import numpy as np

from .backend import to_numpy
from .spectrum import fft_frequencies

PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
BASS_BAND = (55.0, 220.0)
TREBLE_BAND = (220.0, 1760.0)
NO_CHORD = "N"
# A chord change between beats costs this much cosine similarity: a passing note does not flip the chord.
_CHANGE_PENALTY = 0.08
# Root in the bass: the bass's share at the chord's root adds this weight to the chord's score.
_BASS_WEIGHT = 0.3
# A beat quieter than this (dB under the loudest beat) or whose treble has no pitch class standing out
# (peak under this times the mean) is no chord.
_SILENT_DB = 45.0
_FLATNESS = 1.6


def estimate_tuning(magnitude_mean: Any, *, sr: float, n_fft: int) -> float:
    """Deviation of the reference A from 440 Hz, in semitones within [-0.5, 0.5), from a mean magnitude
    spectrum `(1 + n_fft // 2,)`.

    Each local spectral peak between 80 Hz and 2 kHz is placed by parabolic interpolation of its log
    magnitude; its distance from the nearest equal-tempered semitone is averaged as an angle (so -0.5
    and 0.5 agree), weighted by the peak's magnitude. No peaks gives 0.
    """
    spectrum = np.asarray(to_numpy(magnitude_mean), dtype=np.float64)
    log = np.log(np.maximum(spectrum, 1e-12))
    freqs = fft_frequencies(sr=sr, n_fft=n_fft)
    inner = np.arange(1, len(spectrum) - 1)
    peaks = inner[(log[inner] > log[inner - 1]) & (log[inner] >= log[inner + 1])
                  & (freqs[inner] >= 80.0) & (freqs[inner] <= 2000.0)]
    if not len(peaks) or spectrum[peaks].max() <= 0:
        return 0.0
    peaks = peaks[spectrum[peaks] >= 0.05 * spectrum[peaks].max()]
    left, centre, right = log[peaks - 1], log[peaks], log[peaks + 1]
    curvature = left - 2 * centre + right
    offset = np.where(curvature < 0, 0.5 * (left - right) / np.where(curvature < 0, curvature, -1.0), 0.0)
    hz = (peaks + np.clip(offset, -0.5, 0.5)) * sr / n_fft
    semitones = 12 * np.log2(hz / 440.0)
    angle = 2 * np.pi * (semitones - np.round(semitones))
    weights = spectrum[peaks]
    mean = np.arctan2(np.sum(weights * np.sin(angle)), np.sum(weights * np.cos(angle)))
    return float(mean / (2 * np.pi))


@lru_cache(maxsize=32)
def pitch_class_filterbank(*, sr: float, n_fft: int, tuning: float, band: tuple[float, float]) -> np.ndarray:
    """`(12, 1 + n_fft // 2)` weights folding STFT bins within `band` (Hz) onto pitch classes, C first.

    A bin gives its weight to the pitch classes near its pitch (A = 440 * 2 ** (tuning / 12)) by a
    Gaussian of a quarter semitone, widened to the bin's own width in the bass, and each bin's
    weights sum to 1 (0 outside the band). Read-only.
    """
    freqs = fft_frequencies(sr=sr, n_fft=n_fft)
    inside = (freqs >= band[0]) & (freqs <= band[1])
    pitch = np.zeros_like(freqs)
    pitch[inside] = 69 + 12 * np.log2(freqs[inside] / 440.0) - tuning
    width = np.maximum(0.25, 12 * np.log2((freqs + sr / n_fft) / np.maximum(freqs, 1e-9)) / 2)
    classes = np.arange(12)[:, None]
    distance = np.remainder(pitch[None, :] - classes + 6, 12) - 6
    weights = np.exp(-0.5 * (distance / width[None, :]) ** 2) * inside[None, :]
    weights /= np.maximum(weights.sum(axis=0, keepdims=True), 1e-12)
    weights.flags.writeable = False
    return weights


@lru_cache(maxsize=32)
def _bass_treble_basis(sr: float, n_fft: int, tuning: float) -> tuple[np.ndarray, int]:
    """The bass and treble filterbanks stacked `(24, bins)`, cut to the bins below the treble's top."""
    top = int(np.searchsorted(fft_frequencies(sr=sr, n_fft=n_fft), TREBLE_BAND[1], side="right"))
    basis = np.concatenate([pitch_class_filterbank(sr=sr, n_fft=n_fft, tuning=tuning, band=band)[:, :top]
                            for band in (BASS_BAND, TREBLE_BAND)])
    basis.flags.writeable = False
    return basis, top


def bass_treble_chroma(magnitude: Any, *, sr: float, n_fft: int, tuning: float, xp: ModuleType) -> Any:
    """`(24, frames)`: bass pitch classes (rows 0-11) and treble (12-23) of a magnitude spectrogram
    `(1 + n_fft // 2, frames)`, from its square root. Not normalised (loud frames weigh more).
    Only the bins under 1760 Hz are read (a twelfth of them at `frame_parameters`' sizes)."""
    basis, top = _bass_treble_basis(sr, n_fft, round(tuning, 2))
    return xp.matmul(xp.asarray(basis, dtype=magnitude.dtype), xp.sqrt(magnitude[..., :top, :]))


def spectral_peaks(magnitude: Any, *, xp: ModuleType) -> Any:
    """The magnitude spectrogram `(bins, frames)` with every bin that is not a local maximum over frequency
    set to 0: the partials of notes stay and the broadband floor of drums and noise between them goes,
    which would otherwise flatten the pitch classes (HPCP keeps only spectral peaks for the same reason)."""
    inner = magnitude[1:-1]
    peak = (inner >= magnitude[:-2]) & (inner >= magnitude[2:])
    edge = xp.zeros_like(magnitude[:1])
    return xp.concatenate((edge, inner * peak, edge))


def key_pitch_classes(magnitude: Any, *, sr: float, n_fft: int, tuning: float, xp: ModuleType) -> Any:
    """`(24, frames)` bass and treble pitch classes of the spectral peaks (`spectral_peaks`) of a
    magnitude spectrogram, for the key: only the bins under the treble's top are read."""
    _, top = _bass_treble_basis(sr, n_fft, round(tuning, 2))
    peaks = spectral_peaks(magnitude[..., : top + 1, :], xp=xp)
    return bass_treble_chroma(peaks, sr=sr, n_fft=n_fft, tuning=tuning, xp=xp)


def _templates() -> tuple[list[str], np.ndarray]:
    names, rows = [], []
    for minor in (False, True):
        for root in range(12):
            row = np.zeros(12)
            row[[root, (root + (3 if minor else 4)) % 12, (root + 7) % 12]] = 1.0
            names.append(PITCH_CLASSES[root] + ("m" if minor else ""))
            rows.append(row / np.linalg.norm(row))
    return names, np.array(rows)


CHORD_NAMES, _CHORD_TEMPLATES = _templates()


def beat_chords(chroma: np.ndarray, beat_frames: np.ndarray, frame_seconds: float) -> list[dict[str, Any]]:
    """The chord of each beat: `[{"time", "chord", "confidence"}]` for the stretches between beats.

    `chroma` is `bass_treble_chroma` `(24, frames)` on the host and `beat_frames` the beats' frames.
    Each stretch scores the 24 triads by the cosine of its treble pitch classes with the triad plus the
    bass's share at the triad's root (`_BASS_WEIGHT`); a Viterbi pass then charges `_CHANGE_PENALTY`
    per change. Quiet or pitchless stretches are `"N"`. The confidence (0..1) is how far the chosen
    chord's score stands above the next best in its stretch, over 0.2.
    """
    if len(beat_frames) == 0 or chroma.shape[-1] == 0:
        return []
    edges = np.concatenate((beat_frames, [chroma.shape[-1]])).astype(np.int64)
    sums = np.add.reduceat(chroma, np.minimum(edges[:-1], chroma.shape[-1] - 1), axis=-1)
    lengths = np.maximum(np.diff(edges), 1)
    means = sums / lengths
    bass, treble = means[:12], means[12:]
    energy = treble.sum(axis=0) + bass.sum(axis=0)
    loud = 20 * np.log10(np.maximum(energy, 1e-12) / max(energy.max(), 1e-12)) > -_SILENT_DB
    pitched = treble.max(axis=0) > _FLATNESS * treble.mean(axis=0)
    treble_unit = treble / np.maximum(np.linalg.norm(treble, axis=0, keepdims=True), 1e-12)
    bass_share = bass / np.maximum(bass.sum(axis=0, keepdims=True), 1e-12)
    roots = np.arange(24) % 12
    scores = _CHORD_TEMPLATES @ treble_unit + _BASS_WEIGHT * bass_share[roots]
    path = _viterbi(scores)
    ordered = np.sort(scores, axis=0)
    margin = scores[path, np.arange(scores.shape[1])] - np.where(
        scores[path, np.arange(scores.shape[1])] >= ordered[-1], ordered[-2], ordered[-1])
    chords = []
    for index, frame in enumerate(beat_frames):
        if loud[index] and pitched[index]:
            name, confidence = CHORD_NAMES[path[index]], float(np.clip(margin[index] / 0.2, 0.0, 1.0))
        else:
            name, confidence = NO_CHORD, 1.0
        chords.append({"time": round(float(frame) * frame_seconds, 3), "chord": name,
                       "confidence": round(confidence, 3)})
    return chords


def _viterbi(scores: np.ndarray) -> np.ndarray:
    """The chord sequence maximising the summed scores `(24, beats)` less `_CHANGE_PENALTY` per change."""
    count = scores.shape[1]
    best = scores[:, 0].copy()
    back = np.zeros((count, 24), dtype=np.int64)
    for beat in range(1, count):
        switch = int(np.argmax(best))
        stay = best >= best[switch] - _CHANGE_PENALTY
        back[beat] = np.where(stay, np.arange(24), switch)
        best = np.where(stay, best, best[switch] - _CHANGE_PENALTY) + scores[:, beat]
    path = np.zeros(count, dtype=np.int64)
    path[-1] = int(np.argmax(best))
    for beat in range(count - 1, 0, -1):
        path[beat - 1] = back[beat, path[beat]]
    return path
