"""Musical key from a chromagram: correlation with Krumhansl-Kessler key profiles."""

from types import ModuleType
from typing import Any

import numpy as np

from .backend import to_numpy
from .chroma import chroma_stft
from .spectrum import frame_parameters

PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
_PROFILES = {
    "major": np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88]),
    "minor": np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17]),
}


def key_scores(chroma_mean: Any) -> dict[str, float]:
    """Pearson correlation of a 12-bin pitch-class profile (C first) with all 24 rotated key profiles.

    Keys are named like "C# major" and "A minor". A flat profile (silence) scores 0 everywhere.
    """
    profile = np.asarray(to_numpy(chroma_mean), dtype=np.float64)
    if profile.shape != (12,):
        raise ValueError(f"a pitch-class profile has 12 bins, got shape {profile.shape}")
    if not np.isfinite(profile).all():
        raise ValueError("pitch-class profile contains NaN or infinite values")
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

    From a chromagram `(12, frames)` averaged over time, or from a mono signal `y` through
    `chroma_stft` with `frame_parameters(sr)` (long enough frames to separate bass notes at any
    rate). Silence gives `(None, 0.0)`.
    """
    if chroma is None:
        n_fft, hop_length = frame_parameters(sr)
        chroma = chroma_stft(y=y, sr=sr, n_fft=n_fft, hop_length=hop_length, xp=xp)
    chroma = np.asarray(to_numpy(chroma), dtype=np.float64)
    if chroma.ndim != 2 or chroma.shape[0] != 12:
        raise ValueError(f"a chromagram has shape (12, frames), got {chroma.shape}")
    return key_from_profile(chroma.mean(axis=1))


def key_from_profile(chroma_mean: Any) -> tuple[str | None, float]:
    """The best key for a 12-bin pitch-class profile, as `estimate_key`."""
    scores = key_scores(chroma_mean)
    best = max(scores, key=scores.__getitem__)
    if scores[best] <= 0.0:
        return None, 0.0
    return best, scores[best]
