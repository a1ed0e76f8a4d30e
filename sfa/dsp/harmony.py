"""Tuned bass and treble pitch classes, and the chord of each beat.

The chroma of `chroma.py` follows librosa (fixed A440, one band from the bass to the treble); key and
chords use their own pitch classes instead:
- tuned: the reference A is estimated from the spectrum's peaks (`estimate_tuning`), so a band a
  quarter tone flat still lands on its notes;
- compressed: the square root of the magnitude, so the loudest note does not hide the others;
- split: bass (55-220 Hz, where the chord's root usually is) and treble (220-1760 Hz) are kept apart;
- for the key, peaked and placed: only the spectrum's local maxima count (`spectral_peaks`), so drums
  do not flatten the pitch classes of a dance track; each peak goes to the semitone of its interpolated
  frequency rather than spreading over its bin's width (`key_pitch_classes`), so a bass note at 55 Hz,
  where one bin spans three semitones, still lands on its own pitch class; and the overtones of lower
  notes are partly taken out before the semitones are folded into pitch classes.
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
# The key's semitones: MIDI 33 (A1, 55 Hz) up to 93 (A6, 1760 Hz); the treble starts at 57 (A3, 220 Hz).
_KEY_LOWEST, _KEY_SPLIT, _KEY_TOP = 33, 57, 93
# The overtones a note at the bottom puts on the semitones above it: 2nd to 5th harmonic (octave, twelfth,
# double octave, major seventeenth), at a 1/h series' amplitudes; `_OVERTONE_SHARE` of that is taken out.
_OVERTONES = ((12, 1 / 2), (19, 1 / 3), (24, 1 / 4), (28, 1 / 5))
_OVERTONE_SHARE = 0.5
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
    hz = (peaks + parabolic_offset(log[peaks - 1], log[peaks], log[peaks + 1], xp=np)) * sr / n_fft
    semitones = 12 * np.log2(hz / 440.0)
    angle = 2 * np.pi * (semitones - np.round(semitones))
    weights = spectrum[peaks]
    mean = np.arctan2(np.sum(weights * np.sin(angle)), np.sum(weights * np.cos(angle)))
    return float(mean / (2 * np.pi))


def parabolic_offset(left: Any, centre: Any, right: Any, *, xp: ModuleType) -> Any:
    """Where a spectral peak really is, in bins from its centre bin (within +-0.5): the vertex of the
    parabola through the log magnitudes of the peak's bin and its two neighbours (0 where all three are
    equal). Meaningless, though within +-0.5, for a bin that is not a peak."""
    curvature = xp.minimum(left + right - 2 * centre, -1e-12)
    return xp.clip((left - right) / curvature * 0.5, -0.5, 0.5)


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


@lru_cache(maxsize=32)
def _key_bins(sr: float, n_fft: int, tuning: float) -> tuple[int, int, np.ndarray]:
    """The bins `first..last` whose peaks can fall on the key's semitones (none, `last < first`, at a rate
    too low to hold A1), and `fold` `(24, semitones)` summing those semitones (counted from `_KEY_LOWEST`)
    into bass and treble pitch classes. Read-only."""
    freqs = fft_frequencies(sr=sr, n_fft=n_fft)
    semitone = 12 * np.log2(np.maximum(freqs, 1e-9) / 440.0) - tuning + 69 - _KEY_LOWEST
    width = 12 * np.log2(1 + sr / n_fft / np.maximum(freqs, 1e-9))  # a bin's width in semitones
    usable = np.flatnonzero((semitone + width > -0.5) & (semitone - width < _KEY_TOP - _KEY_LOWEST - 0.5))
    first, last = (max(int(usable[0]), 1), min(int(usable[-1]), len(freqs) - 2)) if usable.size else (1, 0)
    midi = np.arange(_KEY_LOWEST, _KEY_TOP)
    fold = np.zeros((24, midi.size), dtype=np.float32)
    fold[midi % 12 + 12 * (midi >= _KEY_SPLIT), midi - _KEY_LOWEST] = 1.0
    fold.flags.writeable = False
    return first, last, fold


def key_pitch_classes(magnitude: Any, *, sr: float, n_fft: int, tuning: float, xp: ModuleType) -> Any:
    """`(24, frames)` bass (A1-G#3) and treble (A3-G#6) pitch classes of a magnitude spectrogram
    `(1 + n_fft // 2, frames)`, for the key.

    Each spectral peak (`spectral_peaks`) is placed at its interpolated frequency (`parabolic_offset`) and
    gives the square root of its magnitude to its nearest semitone, weighted by cos^2 of its distance from
    it (a peak a quarter tone off counts half). On those semitones, each one's expected overtones
    (`_OVERTONES`) are taken out of the semitones above it, `_OVERTONE_SHARE` of them and never below 0, so
    a bass note's twelfth and seventeenth do not pose as the treble's fifth and major third. The semitones
    are then folded into bass and treble pitch classes. Only the bins under 1760 Hz are read.
    """
    first, last, fold = _key_bins(sr, n_fft, round(tuning, 2))
    count, frames = fold.shape[1], magnitude.shape[-1]
    if last < first:
        return xp.zeros((24, frames), dtype=magnitude.dtype)
    near = xp.ascontiguousarray(magnitude[first - 1 : last + 2])
    # The peaks, by their index in the flattened (bin, frame) array: a bin's neighbours are a row away.
    at = xp.flatnonzero(spectral_peaks(near, xp=xp) > 0)
    flat = near.ravel()
    left, centre, right = (xp.log(xp.maximum(xp.take(flat, at + step), 1e-10)) for step in (-frames, 0, frames))
    bins, frame = (at // frames + (first - 1)).astype(centre.dtype), at % frames
    hz = (bins + parabolic_offset(left, centre, right, xp=xp)) * (sr / n_fft)
    position = 12.0 * xp.log2(hz / 440.0) + (69.0 - tuning - _KEY_LOWEST)
    nearest = xp.floor(position + 0.5)
    # sqrt(magnitude) from its log, times cos^2 of the distance to the semitone.
    placed = xp.exp(0.5 * centre) * (0.5 + 0.5 * xp.cos((2 * np.pi) * (position - nearest)))
    # Each peak adds to its (semitone, frame) cell; those off the key's semitones go to one spare cell.
    cell = xp.where((nearest >= 0) & (nearest < count), nearest.astype(xp.int64) * frames + frame, count * frames)
    semitones = xp.bincount(cell, weights=placed, minlength=count * frames + 1)
    semitones = semitones[:-1].reshape(count, frames).astype(magnitude.dtype)
    played = semitones
    for shift, gain in _OVERTONES:
        overtone = xp.concatenate((xp.zeros_like(semitones[:shift]), semitones[:-shift]))
        played = played - (_OVERTONE_SHARE * gain) * overtone
    return xp.matmul(xp.asarray(fold, dtype=played.dtype), xp.maximum(played, 0.0))


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
