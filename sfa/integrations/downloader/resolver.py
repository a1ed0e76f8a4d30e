"""Finding a Spotify track's audio without spotdl: a yt-dlp search for "artist title", and the first result
whose title names the track and one of its artists and whose length is within ``TOLERANCE_S`` of it.

The search is ``SFA_RESOLVER_SEARCH`` with ``{query}`` filled in: a yt-dlp search (``ytsearch5:{query}``)
or the URL of a page or feed that lists results (the query URL-encoded), which yt-dlp reads as a playlist.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

import yt_dlp
from yt_dlp.utils import DownloadError, unsmuggle_url

from sfa.integrations.downloader.base import DownloadInterrupted, DownloadRejected

TOLERANCE_S = 3.0
MAX_CANDIDATES = 10
WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True, slots=True)
class Wanted:
    title: str
    artists: tuple[str, ...]
    duration_s: float | None

    @classmethod
    def from_hints(cls, hints: Mapping[str, Any]) -> Wanted:
        if not hints.get("title") or not hints.get("artists"):
            raise DownloadRejected("a Spotify track needs its title and artists to be searched for")
        duration_ms = hints.get("duration_ms")
        return cls(hints["title"], tuple(hints["artists"]), None if duration_ms is None else duration_ms / 1000)

    @property
    def query(self) -> str:
        return f"{self.artists[0]} {self.title}"

    def describe(self) -> str:
        length = "" if self.duration_s is None else f" ({int(self.duration_s) // 60}:{int(self.duration_s) % 60:02d})"
        return f"{', '.join(self.artists)} - {self.title}{length}"


def words(text: str) -> set[str]:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().casefold()
    return set(WORD.findall(folded))


def matches(wanted: Wanted, candidate: Mapping[str, Any]) -> bool:
    """Every word of the title, all words of one artist, and the duration within the tolerance."""
    said = words(" ".join(str(candidate.get(key) or "") for key in
                          ("title", "track", "artist", "creator", "uploader", "channel")))
    if not words(wanted.title) <= said or not any(words(artist) <= said for artist in wanted.artists):
        return False
    duration = candidate.get("duration")
    return wanted.duration_s is None or (duration is not None and abs(duration - wanted.duration_s) <= TOLERANCE_S)


def search_target(template: str, query: str) -> str:
    return template.format(query=quote_plus(query) if "://" in template else query)


def resolve(template: str, wanted: Wanted, timeout_s: float) -> str:
    """The URL of the first search result that matches; DownloadRejected when none does."""
    options = {"quiet": True, "no_warnings": True, "extract_flat": "in_playlist", "socket_timeout": timeout_s,
               "cachedir": False, "logger": _Silent()}
    try:
        with yt_dlp.YoutubeDL(options) as ydl:
            found = ydl.extract_info(search_target(template, wanted.query), download=False, process=False)
            entries = found.get("entries") if found.get("_type") == "playlist" else [found]
            for entry in itertools.islice(entries or [], MAX_CANDIDATES):
                if entry and matches(wanted, entry):
                    return unsmuggle_url(entry.get("webpage_url") or entry["url"])[0]
    except DownloadError as exc:
        raise DownloadInterrupted(f"the search for {wanted.describe()} failed: {exc}") from None
    raise DownloadRejected(f"no search result matched {wanted.describe()} (title, artist and length within "
                           f"{TOLERANCE_S:.0f} s)")


class _Silent:
    def debug(self, message: str) -> None:
        pass

    warning = error = debug
