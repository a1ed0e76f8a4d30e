"""Musical key from pitch classes: correlation with Albrecht and Shanahan's key profiles.

Albrecht and Shanahan (2013) counted pitch classes in a corpus of real pieces; unlike Krumhansl and
Kessler's probe-tone ratings, the tonic and fifth stand far above the other scale degrees and the
chromatic notes near zero, which keeps a song from being heard in its dominant or relative key
(`bench.accuracy`: 24/24 rendered cadential songs, where Krumhansl-Kessler named the dominant).

From audio, the key weighs two profiles equally: the treble's pitch classes (the harmony and the
melody) and the bass's (55-220 Hz: the roots, where the tonic returns most), both from the spectrum's
peaks only, each placed on the semitone of its interpolated frequency, with lower notes' overtones
partly taken out (`harmony.key_pitch_classes`). The bass is what tells F# major from its relative D#
minor when the treble holds the same notes, and what outvotes a dance track's drums in a short excerpt;
placing the peaks is what lets the bass do it at 22 kHz, where one STFT bin spans three semitones at
55 Hz (`bench.accuracy`, 18 key-annotated recordings: 6 right with the bins' own frequencies, 10 with
the peaks placed and overtones taken out; rendered songs 24/24 either way).
"""

from types import ModuleType
from typing import Any

import numpy as np

from .backend import to_numpy
from .errors import ParameterError
from .harmony import estimate_tuning, key_pitch_classes
from .spectrum import _spectrogram, frame_parameters

PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
_PROFILES = {
    "major": np.array([0.238, 0.006, 0.111, 0.006, 0.137, 0.094, 0.016, 0.214, 0.009, 0.080, 0.008, 0.081]),
    "minor": np.array([0.220, 0.006, 0.104, 0.123, 0.019, 0.103, 0.012, 0.214, 0.062, 0.022, 0.061, 0.052]),
}


def key_scores(chroma_mean: Any) -> dict[str, float]:
    """Pearson correlation of a 12-bin pitch-class profile (C first) with all 24 rotated key profiles.

    Keys are named like "C# major" and "A minor". A flat profile (silence) scores 0 everywhere.
    """
    profile = np.asarray(to_numpy(chroma_mean), dtype=np.float64)
    if profile.shape != (12,):
        raise ParameterError(f"a pitch-class profile has 12 bins, got shape {profile.shape}")
    if not np.isfinite(profile).all():
        raise ParameterError("pitch-class profile contains NaN or infinite values")
    centred = profile - profile.mean()
    spread = np.sqrt(np.sum(centred**2))
    scores = {}
    for mode, template in _PROFILES.items():
        template = template - template.mean()
        template /= np.sqrt(np.sum(template**2))
        for tonic, name in enumerate(PITCH_CLASSES):
            corr = float(np.dot(centred, np.roll(template, tonic)) / spread) if spread > 0 else 0.0
            scores[f"{name} {mode}"] = corr
    return scores


def estimate_key(
    *,
    y: Any = None,
    sr: float = 22050,
    chroma: Any = None,
    xp: ModuleType | None = None,
) -> tuple[str | None, float]:
    """The best-matching key and its confidence in [0, 1] (the correlation, floored at 0).

    From a chromagram `(12, frames)` averaged over time, or from a mono signal `y` through the
    tuned bass and treble pitch classes of the spectral peaks (`harmony.key_pitch_classes`) with
    `frame_parameters(sr)` (long enough frames to separate notes at any rate), as `analyze` does.
    Silence gives `(None, 0.0)`.
    """
    if chroma is None:
        n_fft, hop_length = frame_parameters(sr)
        magnitude, _, xp = _spectrogram(y=y, S=None, n_fft=n_fft, hop_length=hop_length, power=1.0,
                                        window="hann", center=True, xp=xp)
        tuning = estimate_tuning(xp.mean(magnitude, axis=-1), sr=sr, n_fft=n_fft)
        pitch = to_numpy(key_pitch_classes(magnitude, sr=sr, n_fft=n_fft, tuning=tuning, xp=xp).mean(axis=-1))
        return key_from_profile(pitch[12:], bass=pitch[:12])
    chroma = np.asarray(to_numpy(chroma), dtype=np.float64)
    if chroma.ndim != 2 or chroma.shape[0] != 12:
        raise ParameterError(f"a chromagram has shape (12, frames), got {chroma.shape}")
    return key_from_profile(chroma.mean(axis=1))


def key_from_profile(chroma_mean: Any, *, bass: Any = None) -> tuple[str | None, float]:
    """The best key for a 12-bin pitch-class profile, as `estimate_key`; with a `bass` profile too,
    each key scores the mean of its correlations with both."""
    scores = key_scores(chroma_mean)
    if bass is not None:
        low = key_scores(bass)
        scores = {key: (score + low[key]) / 2 for key, score in scores.items()}
    best = max(scores, key=scores.__getitem__)
    if scores[best] <= 0.0:
        return None, 0.0
    return best, scores[best]
