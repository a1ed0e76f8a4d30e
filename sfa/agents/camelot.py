"""Harmonic mixing on the Camelot wheel: which keys blend, and which tracks suit a transition after another.

Each key has a code: a number 1..12 round the circle of fifths and ``A`` (minor) or ``B`` (major). Two keys
blend when they share the code, sit one step apart with the same letter, or share the number (relative
major and minor). A candidate must also lie within a tempo window around the reference's tempo.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PITCH_CLASSES = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
ACCIDENTALS = {"": 0, "#": 1, "♯": 1, "b": -1, "♭": -1}
KEY_NAME = re.compile(r"^\s*([A-Ga-g])([#♯b♭]?)\s*(major|minor|maj|min|m)?\s*$")
CAMELOT_CODE = re.compile(r"^\s*(1[0-2]|[1-9])([ABab])\s*$")


@dataclass(frozen=True, slots=True, order=True)
class CamelotKey:
    number: int
    letter: str

    def __str__(self) -> str:
        return f"{self.number}{self.letter}"

    def distance(self, other: CamelotKey) -> int | None:
        """0 for the same key, 1 for a neighbour or the relative key, None when they clash."""
        if self == other:
            return 0
        steps = (self.number - other.number) % 12
        if self.letter == other.letter and steps in (1, 11):
            return 1
        if self.number == other.number:
            return 1
        return None


def camelot(key: str | None) -> CamelotKey | None:
    """The Camelot code of a key name ("A minor", "C# major", "Bbm") or code ("8A"); None when unreadable."""
    if not key:
        return None
    code = CAMELOT_CODE.match(key)
    if code:
        return CamelotKey(int(code[1]), code[2].upper())
    name = KEY_NAME.match(key)
    if name is None:
        return None
    pitch = (PITCH_CLASSES[name[1].upper()] + ACCIDENTALS[name[2]]) % 12
    minor = (name[3] or "major").lower() in ("minor", "min", "m")
    number = (7 * pitch + (5 if minor else 8)) % 12 or 12
    return CamelotKey(number, "A" if minor else "B")


def compatible_codes(key: CamelotKey) -> list[CamelotKey]:
    """The key itself, its two neighbours on the same ring and its relative on the other ring."""
    other = "B" if key.letter == "A" else "A"
    return [key, CamelotKey(key.number % 12 + 1, key.letter), CamelotKey((key.number - 2) % 12 + 1, key.letter),
            CamelotKey(key.number, other)]


@dataclass(frozen=True, slots=True)
class Candidate:
    track_id: int
    tempo: float
    key: str


@dataclass(frozen=True, slots=True)
class Suggestion:
    track_id: int
    key: str
    camelot: str
    tempo: float
    key_distance: int
    tempo_difference_pct: float


def rank_mixes(reference_tempo: float, reference_key: str, candidates: list[Candidate], *,
               tempo_window_pct: float) -> list[Suggestion]:
    """Candidates in a compatible key and within ``tempo_window_pct`` of the reference tempo, best first:
    the same key before a neighbour, then the closer tempo."""
    home = camelot(reference_key)
    if home is None or reference_tempo <= 0:
        return []
    found = []
    for candidate in candidates:
        code = camelot(candidate.key)
        distance = None if code is None else home.distance(code)
        difference = abs(candidate.tempo - reference_tempo) / reference_tempo * 100
        if distance is not None and difference <= tempo_window_pct:
            found.append(Suggestion(candidate.track_id, candidate.key, str(code), candidate.tempo, distance,
                                    round(difference, 2)))
    return sorted(found, key=lambda s: (s.key_distance, s.tempo_difference_pct, s.track_id))
