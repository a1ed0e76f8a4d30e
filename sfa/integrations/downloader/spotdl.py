"""``SpotdlDownloader``: a Spotify track link resolved by spotdl (the optional ``spotdl`` extra), which
matches it on YouTube Music by its Spotify metadata, then fetched with yt-dlp like any page.

spotdl talks to Spotify and YouTube Music itself, at their real addresses, with this server's Spotify app
credentials; it is skipped when not installed, and the yt-dlp search (:mod:`.resolver`) takes over.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path
from typing import Any

from sfa.integrations.downloader.base import Fetched, Limits, Source, Transfer, Unsupported
from sfa.integrations.downloader.ytdlp import YtDlpDownloader
from sfa.integrations.spotify.urls import is_spotify_url


def spotdl_installed() -> bool:
    return importlib.util.find_spec("spotdl") is not None


class SpotdlDownloader:
    name = "spotdl"

    def __init__(self, client_id: str | None, client_secret: str | None) -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.fetcher = YtDlpDownloader()

    def handles(self, url: str) -> bool:
        return is_spotify_url(url) and self.client_id is not None and self.client_secret is not None

    def fetch(self, source: Source, dest: Path, limits: Limits, transfer: Transfer) -> Fetched:
        client = _spotdl(self.client_id, self.client_secret)
        transfer.report(0.0, "spotdl: matching the track on YouTube Music")
        songs = client.search([source.url])
        url = client.downloader.search(songs[0]) if songs else None
        if not url:
            raise Unsupported(f"spotdl found no match for {source.url}")
        return self.fetcher.fetch(Source(url, source.quality), dest, limits, transfer)


@functools.cache
def _spotdl(client_id: str, client_secret: str) -> Any:
    """One spotdl client per worker process: spotdl keeps its Spotify client in a process-wide singleton
    that refuses a second initialisation."""
    from spotdl import Spotdl

    return Spotdl(client_id=client_id, client_secret=client_secret, headless=True, no_cache=True)
