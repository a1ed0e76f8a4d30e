"""Rendered multi-instrument songs whose key, beats and chords are known exactly, for `bench.accuracy`.

Each song is a drum kit, a bass line, a chord pad voiced with the nearest inversions, a comping piano
and a melody over a cadential progression (major: ... ii/IV - V - I; minor: ... iv - V - i with the
raised leading tone), in 4/4 at a given tempo. Timbres are additive with many harmonics, the pad's
voices are detuned against each other, notes are humanised by a few milliseconds, and the whole song
is tuned off A440 by up to 20 cents so that a key finder has to estimate the tuning.

The songs are rendered by NumPy alone from a seed, so every run of the bench hears the same audio.
They are deliberately not used by the unit tests (`tests/dsp/dsp_synth.py` serves those), so the
analysis is not tuned to them.
"""

from dataclasses import dataclass

import numpy as np

PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
SAMPLE_RATE = 22050
TEMPI = (72.0, 84.0, 96.0, 108.0, 120.0, 132.0, 144.0, 174.0)
# Chord progressions as (scale degree in semitones above the tonic, minor triad?, beats), ending on a
# cadence that fixes the key.
_MAJOR_PROGRESSIONS = (
    ((0, False, 4), (9, True, 4), (5, False, 4), (7, False, 4), (0, False, 4), (5, False, 2), (7, False, 2),
     (0, False, 4), (2, True, 4), (7, False, 4), (0, False, 4)),
    ((0, False, 4), (5, False, 4), (0, False, 4), (7, False, 4), (9, True, 4), (2, True, 4), (7, False, 4),
     (0, False, 4), (4, True, 4), (5, False, 2), (7, False, 2), (0, False, 4)),
    ((0, False, 4), (7, False, 4), (9, True, 4), (5, False, 4), (0, False, 2), (9, True, 2), (2, True, 4),
     (7, False, 4), (0, False, 4), (5, False, 4), (7, False, 4), (0, False, 4)),
)
_MINOR_PROGRESSIONS = (
    ((0, True, 4), (5, True, 4), (7, False, 4), (0, True, 4), (8, False, 4), (5, True, 4), (7, False, 4),
     (0, True, 4), (5, True, 2), (7, False, 2), (0, True, 4)),
    ((0, True, 4), (8, False, 4), (3, False, 4), (10, False, 4), (5, True, 4), (7, False, 4), (0, True, 4),
     (8, False, 2), (7, False, 2), (0, True, 4)),
    ((0, True, 4), (5, True, 4), (8, False, 4), (7, False, 4), (0, True, 4), (3, False, 4), (5, True, 2),
     (7, False, 2), (0, True, 4), (5, True, 4), (7, False, 4), (0, True, 4)),
)
_MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
_MINOR_SCALE = (0, 2, 3, 5, 7, 8, 10)


@dataclass(frozen=True)
class Song:
    """A rendered song: mono samples at `sr`, its key ("A minor"), tempo, beat times and per-beat chords."""

    name: str
    y: np.ndarray
    sr: int
    key: str
    tempo: float
    beats: np.ndarray
    chords: tuple[str, ...]


def chord_name(root: int, minor: bool) -> str:
    """Chord label as the analysis reports it: "C", "F#m"."""
    return PITCH_CLASSES[root % 12] + ("m" if minor else "")


def _midi_hz(note: float, cents: float) -> float:
    return 440.0 * 2.0 ** ((note - 69 + cents / 100.0) / 12.0)


class _Mixer:
    def __init__(self, seconds: float, sr: int, cents: float, rng: np.random.Generator) -> None:
        self.sr, self.cents, self.rng = sr, cents, rng
        self.out = np.zeros(int(seconds * sr) + sr)

    def add(self, start: float, sound: np.ndarray) -> None:
        first = max(0, round((start + self.rng.normal(0.0, 0.004)) * self.sr))
        sound = sound[: len(self.out) - first]
        self.out[first : first + len(sound)] += sound

    def tone(self, note: float, seconds: float, amps: np.ndarray, *, attack: float, decay: float,
             detune: float = 0.0, vibrato: float = 0.0) -> np.ndarray:
        """Additive tone: harmonic k has amplitude `amps[k-1]` and dies `k` times faster than `decay`."""
        t = np.arange(int(seconds * self.sr)) / self.sr
        f0 = _midi_hz(note, self.cents + detune)
        phase = 2 * np.pi * f0 * (t + vibrato * np.sin(2 * np.pi * 5.0 * t) / (2 * np.pi * 5.0))
        wave = np.zeros_like(t)
        for k, amp in enumerate(amps, start=1):
            if k * f0 * (1 + vibrato) >= 0.45 * self.sr:
                break
            wave += amp * np.sin(k * phase + self.rng.uniform(0, 2 * np.pi)) * np.exp(-t * k / decay)
        envelope = np.minimum(1.0, t / attack) * np.minimum(1.0, (seconds - t) / 0.03).clip(0.0)
        return wave * envelope


def _drums(mix: _Mixer, beat: float, beats: int, start: float, rng: np.random.Generator) -> None:
    sr = mix.sr
    t = np.arange(int(0.35 * sr)) / sr
    kick = np.sin(2 * np.pi * (45 * t + 75 * 0.04 * (1 - np.exp(-t / 0.04)))) * np.exp(-t / 0.12)
    noise = rng.standard_normal(len(t))
    snare = (0.7 * np.diff(noise, prepend=0.0) + 0.5 * np.sin(2 * np.pi * 190 * t)) * np.exp(-t / 0.07)
    hat = np.diff(np.diff(noise, prepend=0.0), prepend=0.0)[: int(0.06 * sr)] * np.exp(-t[: int(0.06 * sr)] / 0.015)
    for index in range(beats):
        at = start + index * beat
        position = index % 4
        if position in (0, 2) or (position == 3 and rng.random() < 0.3):
            mix.add(at if position != 3 else at + beat / 2, 0.9 * kick)
        if position in (1, 3):
            mix.add(at, 0.45 * snare)
        for half in (0.0, 0.5):
            mix.add(at + half * beat, (0.10 if half else 0.16) * hat)


def _voicing(root: int, minor: bool, previous: list[int] | None) -> list[int]:
    """The inversion of the triad (MIDI 52-76) nearest the previous voicing, with the root doubled on top."""
    intervals = (0, 3 if minor else 4, 7)
    options = []
    for base in range(52, 64):
        notes = sorted(base + ((root + i - base) % 12) for i in intervals)
        options.append([*notes, notes[0] + 12])
    if previous is None:
        return options[len(options) // 2]
    return min(options, key=lambda notes: sum(abs(a - b) for a, b in zip(notes, previous, strict=True)))


def render(tonic: int, minor: bool, tempo: float, *, seed: int = 0, sr: int = SAMPLE_RATE) -> Song:
    """Render the song in `tonic` (pitch class, C = 0) major or minor at `tempo` BPM."""
    rng = np.random.default_rng(seed)
    progressions = _MINOR_PROGRESSIONS if minor else _MAJOR_PROGRESSIONS
    progression = progressions[seed % len(progressions)]
    beat = 60.0 / tempo
    start = 0.25
    total_beats = sum(length for _, _, length in progression)
    mix = _Mixer(start + (total_beats + 2) * beat, sr, rng.uniform(-20.0, 20.0), rng)
    _drums(mix, beat, total_beats, start, rng)
    scale = _MINOR_SCALE if minor else _MAJOR_SCALE
    pad_amps = 1.0 / np.arange(1, 13) ** 1.1
    piano_amps = np.array([1.0, 0.6, 0.35, 0.25, 0.2, 0.12, 0.1, 0.06, 0.05, 0.03])
    bass_amps = np.array([1.0, 0.7, 0.45, 0.3, 0.2, 0.12, 0.08])
    lead_amps = np.array([1.0, 0.15, 0.5, 0.1, 0.3, 0.05, 0.2, 0.03, 0.12])
    chords: list[str] = []
    voicing: list[int] | None = None
    melody_note = 72 + tonic % 12 - (12 if tonic % 12 > 6 else 0)
    index = 0
    for degree, chord_minor, length in progression:
        root = (tonic + degree) % 12
        chords += [chord_name(root, chord_minor)] * length
        voicing = _voicing(root, chord_minor, voicing)
        at = start + index * beat
        for voice, note in enumerate(voicing):
            for detune in (-6.0, 6.0):
                pad = mix.tone(note, length * beat, pad_amps, attack=0.08, decay=8.0, detune=detune + voice)
                mix.add(at, 0.05 * pad)
        for step in range(length):
            if step % 2 == 1 or rng.random() < 0.5:
                for note in voicing[:3]:
                    mix.add(at + step * beat, 0.07 * mix.tone(note, 0.9 * beat, piano_amps, attack=0.005, decay=0.6))
        bass_root = 36 + root
        for step in range(length):
            note = bass_root + (7 if step % 4 == 2 and rng.random() < 0.4 else 0)
            mix.add(at + step * beat, 0.35 * mix.tone(note, 0.95 * beat, bass_amps, attack=0.01, decay=0.5))
        chord_tones = [(root + i) % 12 for i in ((0, 3, 7) if chord_minor else (0, 4, 7))]
        for step in range(length):
            strong = step % 2 == 0
            pitch_classes = chord_tones if strong else [(tonic + s) % 12 for s in scale]
            if minor and degree == 7:
                pitch_classes = [*chord_tones, (tonic + 11) % 12] if not strong else chord_tones
            candidates = [n for n in range(melody_note - 5, melody_note + 6) if n % 12 in pitch_classes]
            melody_note = int(rng.choice(candidates)) if candidates else melody_note
            melody_note = min(max(melody_note, 67), 86)
            halves = (0.0, 0.5) if rng.random() < 0.3 else (0.0,)
            for half in halves:
                seconds = beat / len(halves) * 0.95
                lead = mix.tone(melody_note, seconds, lead_amps, attack=0.02, decay=1.5, vibrato=0.004)
                mix.add(at + (step + half) * beat, 0.12 * lead)
        index += length
    y = mix.out / np.max(np.abs(mix.out)) * 0.9
    mode = "minor" if minor else "major"
    key = f"{PITCH_CLASSES[tonic]} {mode}"
    beats = start + beat * np.arange(total_beats)
    name = f"{PITCH_CLASSES[tonic]}{'m' if minor else ''} at {tempo:g}"
    return Song(name, y.astype(np.float32), sr, key, tempo, beats, tuple(chords))


def all_songs() -> list[Song]:
    """One song in each of the 24 keys, the tempi taken in turn, progressions varied by the seed."""
    songs = []
    for index in range(24):
        tonic, minor = index % 12, index >= 12
        songs.append(render(tonic, minor, TEMPI[index % len(TEMPI)], seed=index))
    return songs
