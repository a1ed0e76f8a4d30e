"""Synthetic music for the DSP tests: drum patterns at a known tempo, chord progressions in a known key."""

import numpy as np

NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def _kick(sr: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(0.25 * sr)) / sr
    phase = 2 * np.pi * (50 * t + (150 - 50) * 0.03 * (1 - np.exp(-t / 0.03)))
    return np.sin(phase) * np.exp(-t / 0.08)


def _snare(sr: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(0.2 * sr)) / sr
    noise = rng.standard_normal(t.size) * np.exp(-t / 0.05)
    return 0.5 * noise + 0.4 * np.sin(2 * np.pi * 190 * t) * np.exp(-t / 0.04)


def _hat(sr: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(0.05 * sr)) / sr
    noise = np.diff(rng.standard_normal(t.size + 1))
    return 0.15 * noise * np.exp(-t / 0.012)


def drum_loop(bpm: float, *, sr: int = 22050, seconds: float = 20.0, seed: int = 0) -> np.ndarray:
    """A rock beat at `bpm`: kick on beats 1 and 3, snare on 2 and 4, closed hi-hat on every eighth.

    A quiet noise bed keeps the decibel onsets of the hats realistic. Float32 in [-1, 1].
    """
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    y = 0.003 * rng.standard_normal(n)
    beat = 60.0 / bpm
    sounds = {"kick": _kick(sr, rng), "snare": _snare(sr, rng), "hat": _hat(sr, rng)}
    for eighth in range(int(seconds / beat * 2)):
        start = round(eighth * beat / 2 * sr)
        hits = ["hat"]
        if eighth % 2 == 0:
            hits.append("kick" if eighth % 4 == 0 else "snare")
        for hit in hits:
            sound = sounds[hit][: n - start]
            y[start : start + sound.size] += sound
    return (0.5 * y / np.max(np.abs(y))).astype(np.float32)


def _tone(freq: float, t: np.ndarray) -> np.ndarray:
    return sum(np.sin(2 * np.pi * freq * h * t) / h**2 for h in (1, 2, 3))


def chord_progression(
    tonic: int, mode: str, *, sr: int = 22050, chord_seconds: float = 1.0, cents: float = 0.0
) -> np.ndarray:
    """I-IV-V-I (major) or i-iv-V-i (minor, harmonic V) in the key of pitch class `tonic`, tuned
    `cents` away from A440.

    Triads are voiced around middle C over a bass root, each note with two soft harmonics.
    """
    third = 4 if mode == "major" else 3
    chords = [(0, third, 7), (5, 5 + third, 12), (7, 11, 14), (0, third, 7)]
    t = np.arange(int(chord_seconds * sr)) / sr
    envelope = np.minimum(1.0, np.minimum(t, chord_seconds - t) / 0.02)
    base = 60 + tonic if tonic < 6 else 48 + tonic
    parts = []
    for chord in chords:
        notes = [base + interval for interval in chord] + [base - 12 + chord[0]]
        parts.append(envelope * sum(_tone(440.0 * 2 ** ((note - 69 + cents / 100) / 12), t) for note in notes))
    y = np.concatenate(parts)
    return (0.5 * y / np.max(np.abs(y))).astype(np.float32)


def chord_names(tonic: int, mode: str) -> list[str]:
    """The chords of `chord_progression(tonic, mode)` as the analysis names them ("Am", "E")."""
    minor = "m" if mode == "minor" else ""
    degrees = ((0, minor), (5, minor), (7, ""), (0, minor))
    return [NOTE_NAMES[(tonic + degree) % 12] + suffix for degree, suffix in degrees]


def speech_like(*, sr: int = 22050, seconds: float = 10.0, seed: int = 0) -> np.ndarray:
    """Bursts of voiced sound at irregular, speech-like times: 80-350 ms syllables on a 120 Hz buzz,
    gaps of 30-600 ms. Has onsets but no steady pulse."""
    rng = np.random.default_rng(seed)
    y = np.zeros(int(seconds * sr))
    start = 0
    while start < y.size:
        length = int(rng.uniform(0.08, 0.35) * sr)
        t = np.arange(length) / sr
        buzz = np.sign(np.sin(2 * np.pi * rng.uniform(100, 160) * t)) * np.hanning(length)
        y[start : start + length] += buzz[: max(0, y.size - start)]
        start += length + int(rng.uniform(0.03, 0.6) * sr)
    return (0.3 * y).astype(np.float32)


def key_name(tonic: int, mode: str) -> str:
    return f"{NOTE_NAMES[tonic]} {mode}"
