"""The backends a download job may use, first match wins. Specialised backends (spotdl, yt-dlp) go before
the plain HTTP one, which takes any http(s) URL."""

from __future__ import annotations

from sfa.integrations.downloader.base import Downloader, DownloadRejected
from sfa.integrations.downloader.http import HttpDownloader

BACKENDS: tuple[Downloader, ...] = (HttpDownloader(),)


def backend_for(url: str) -> Downloader:
    for backend in BACKENDS:
        if backend.handles(url):
            return backend
    raise DownloadRejected(f"no downloader handles {url!r}")
