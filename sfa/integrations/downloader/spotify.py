"""``SpotifyDownloader``: a Spotify track link, resolved to an audio source by a search, then fetched with
yt-dlp. Spotify serves no audio itself; the job carries the title, artists and duration to search by."""

from __future__ import annotations

from pathlib import Path

from sfa.integrations.downloader.base import Fetched, Limits, Source, Transfer
from sfa.integrations.downloader.resolver import Wanted, resolve
from sfa.integrations.downloader.ytdlp import YtDlpDownloader
from sfa.integrations.spotify.urls import is_spotify_url

RESOLVED_SHARE = 0.05


class SpotifyDownloader:
    name = "ytdlp search"

    def __init__(self, search: str) -> None:
        self.search = search
        self.fetcher = YtDlpDownloader()

    def handles(self, url: str) -> bool:
        return is_spotify_url(url)

    def fetch(self, source: Source, dest: Path, limits: Limits, transfer: Transfer) -> Fetched:
        wanted = Wanted.from_hints(source.hints)
        transfer.report(0.0, f"searching for {wanted.describe()}")
        url = resolve(self.search, wanted, limits.timeout_s)
        transfer.report(RESOLVED_SHARE, f"found {url}")
        inner = Transfer(lambda share, message: transfer.report(RESOLVED_SHARE + (1 - RESOLVED_SHARE) * share,
                                                                message), transfer.cancelled)
        return self.fetcher.fetch(Source(url, source.quality), dest, limits, inner)
