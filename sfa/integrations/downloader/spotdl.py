"""``SpotdlDownloader``: a Spotify track link resolved by spotdl (the optional ``spotdl`` extra), which
matches it on YouTube Music by its Spotify metadata, then fetched with yt-dlp like any page.

spotdl talks to Spotify and YouTube Music itself, at their real addresses, with this server's Spotify app
credentials; it is skipped when not installed, and the yt-dlp search (:mod:`.resolver`) takes over.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from sfa.integrations.downloader.base import DownloadRejected, Fetched, Limits, Source, Transfer
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
        from spotdl.providers.audio import YouTubeMusic
        from spotdl.types.song import Song
        from spotdl.utils.spotify import SpotifyClient

        try:
            SpotifyClient.init(client_id=self.client_id, client_secret=self.client_secret, user_auth=False)
        except Exception as exc:  # spotdl raises its own error when initialised twice in one process
            if "already been initialized" not in str(exc):
                raise
        transfer.report(0.0, "spotdl: matching the track on YouTube Music")
        url = YouTubeMusic().search(Song.from_url(source.url))
        if not url:
            raise DownloadRejected(f"spotdl found no match for {source.url}")
        return self.fetcher.fetch(Source(url, source.quality), dest, limits, transfer)
