"""The deterministic intent parser: what a message asks for, when it is something the tools answer exactly.

It reads English phrasing with regular expressions and never guesses: a message it cannot place is ``open``
(conversation, which needs a language model). Tracks are named by id ("track 12", "#12"), as the newest
("my last import"), or by words from a title or artist ("the Daft Punk track", a quoted title).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SEARCH, RECENT, TRACK, ANALYSIS, MIXING = "search", "recent", "track", "analysis", "mixing"
ANALYSE, SEPARATE, IMPORT, JOB, OPEN = "analyse", "separate", "import", "job", "open"

URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
TRACK_ID = re.compile(r"(?:\b(?:track|song|tune)\s*(?:id\s*)?#?|#)(\d{1,18})\b", re.IGNORECASE)
JOB_ID = re.compile(r"\bjob\s*#?(\d{1,18})\b", re.IGNORECASE)
NEWEST = re.compile(r"\b(?:last|latest|newest|most recent|recent)\s+(?:import|track|upload|song|download|addition)",
                    re.IGNORECASE)
QUOTED = re.compile(r"[\"“]([^\"”]{1,200})[\"”]")
NAMED = re.compile(r"\b(?:the|my)\s+([^,.;:?!\"]{1,100}?)\s+(?:track|song|tune)s?\b", re.IGNORECASE)
BY_ARTIST = re.compile(r"\bby\s+([^,.;:?!\"]{1,100})", re.IGNORECASE)
SEARCH_FOR = re.compile(r"\b(?:find|search(?:\s+for)?|look\s+for|look\s+up)\s+([^,.;:?!\"]{1,100})", re.IGNORECASE)

RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (SEPARATE, re.compile(r"\b(?:separat\w*|split|isolat\w*|extract|stems?|demix|karaoke)\b", re.IGNORECASE)),
    (ANALYSE, re.compile(r"^\W*(?:please\s+|can you\s+|could you\s+)?(?:re-?)?analy[sz]e\b"
                         r"|\b(?:start|run|queue|do)\s+(?:an?\s+|the\s+)?analys[ie]s\b", re.IGNORECASE)),
    (JOB, JOB_ID),
    (MIXING, re.compile(r"\b(?:mix\w*|blend\w*|transition\w*|compatible|harmonic\w*|camelot|goes well|go well)\b",
                        re.IGNORECASE)),
    (ANALYSIS, re.compile(r"\b(?:key|tempo|bpm|energy|analys[ie]s|analy[sz]ed|loud\w*|bright\w*|spectral)\b",
                          re.IGNORECASE)),
    (SEARCH, re.compile(r"\b(?:find|search|look\s+for|look\s+up|tracks\s+by|songs\s+by|do i have)\b", re.IGNORECASE)),
    (RECENT, re.compile(r"\b(?:list|show)\b.*\b(?:tracks|songs|library)\b|\bmy\s+(?:tracks|library)\b",
                        re.IGNORECASE)),
)


@dataclass(frozen=True, slots=True)
class TrackRef:
    """Which track a message means: by ``id``, the ``newest``, or ``words`` of its title or artist."""

    id: int | None = None
    newest: bool = False
    words: str | None = None


@dataclass(frozen=True, slots=True)
class Intent:
    label: str
    track: TrackRef | None = None
    query: str | None = None
    url: str | None = None
    job_id: int | None = None


def parse(message: str) -> Intent:
    url = URL.search(message)
    if url:
        return Intent(IMPORT, url=url.group(0).rstrip(".,;)"))
    track = track_ref(message)
    for label, pattern in RULES:
        if pattern.search(message):
            return _intent(label, message, track)
    return Intent(TRACK, track=track) if track is not None else Intent(OPEN)


def _intent(label: str, message: str, track: TrackRef | None) -> Intent:
    if label == JOB:
        return Intent(JOB, job_id=int(JOB_ID.search(message)[1]))
    if label == SEARCH:
        return Intent(SEARCH, query=_search_words(message, track))
    if label == RECENT and track is not None:
        return Intent(TRACK, track=track)
    return Intent(label, track=track)


def track_ref(message: str) -> TrackRef | None:
    explicit = TRACK_ID.search(message)
    if explicit:
        return TrackRef(id=int(explicit[1]))
    if NEWEST.search(message):
        return TrackRef(newest=True)
    words = _quoted(message) or _named(message)
    return TrackRef(words=words) if words else None


def _quoted(message: str) -> str | None:
    quoted = QUOTED.search(message)
    return quoted[1].strip() if quoted else None


def _named(message: str) -> str | None:
    """The shortest "the <words> track" in the message ("the vocals of the Daft Punk track": "Daft Punk")."""
    names = [match[1] for start in re.finditer(r"\b(?:the|my)\s", message, re.IGNORECASE)
             if (match := NAMED.match(message, start.start()))]
    names = [name.strip() for name in names if name.strip().lower() not in ("last", "latest", "newest")]
    return min(names, key=len) if names else None


def _search_words(message: str, track: TrackRef | None) -> str | None:
    if track is not None and track.words:
        return track.words
    for pattern in (BY_ARTIST, SEARCH_FOR):
        found = pattern.search(message)
        if found:
            words = re.sub(r"^(?:for|tracks?|songs?|the|my)\s+", "", found[1].strip(), flags=re.IGNORECASE)
            words = re.sub(r"\s+(?:in my library|in the library|tracks?|songs?)$", "", words, flags=re.IGNORECASE)
            return words or None
    return None
