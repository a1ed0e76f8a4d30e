"""Spotify links as people paste them: ``open.spotify.com`` URLs (with ``?si=`` and locale paths such as
``/intl-de/``), ``spotify:`` URIs, and the ``embed`` variant, each naming a track, album or playlist."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from sfa.integrations.spotify.errors import InvalidSpotifyUrl

TYPES = ("track", "album", "playlist")
HOSTS = ("open.spotify.com", "play.spotify.com")
SPOTIFY_ID = re.compile(r"^[0-9A-Za-z]{22}$")
LOCALE = re.compile(r"^intl-[a-z]{2}(-[a-z]{2})?$", re.IGNORECASE)
MAX_LENGTH = 2048
ACCEPTED = ("must be a Spotify track, album or playlist link (https://open.spotify.com/track/... or "
            "spotify:track:...)")


@dataclass(frozen=True, slots=True)
class SpotifyRef:
    type: str
    id: str

    @property
    def url(self) -> str:
        return f"https://open.spotify.com/{self.type}/{self.id}"

    @property
    def uri(self) -> str:
        return f"spotify:{self.type}:{self.id}"


def parse_spotify_url(text: object) -> SpotifyRef:
    """The track, album or playlist a link names; :class:`InvalidSpotifyUrl` for anything else."""
    if not isinstance(text, str) or not 0 < len(text) <= MAX_LENGTH:
        raise InvalidSpotifyUrl(ACCEPTED)
    text = text.strip()
    if text.startswith("spotify:"):
        parts = text.split(":")[1:]
        if parts[:1] == ["user"] and len(parts) >= 4:
            parts = parts[2:]
    else:
        split = urlsplit(text)
        if split.scheme not in ("http", "https") or (split.hostname or "").lower() not in HOSTS:
            raise InvalidSpotifyUrl(ACCEPTED)
        parts = [part for part in split.path.split("/") if part]
        if parts and LOCALE.match(parts[0]):
            parts = parts[1:]
        if parts[:1] == ["embed"]:
            parts = parts[1:]
        if parts[:1] == ["user"] and len(parts) >= 4:
            parts = parts[2:]
    if len(parts) != 2 or parts[0] not in TYPES or not SPOTIFY_ID.match(parts[1]):
        raise InvalidSpotifyUrl(ACCEPTED)
    return SpotifyRef(parts[0], parts[1])


def is_spotify_url(text: str) -> bool:
    try:
        parse_spotify_url(text)
    except InvalidSpotifyUrl:
        return False
    return True
