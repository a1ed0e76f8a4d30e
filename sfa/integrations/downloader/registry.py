"""The backends a download job may use, in ``SFA_DOWNLOADER``'s order; within it, the first that handles
the URL runs, and the next one gets its turn when it answers :class:`Unsupported`. ``ytdlp`` stands for
both of yt-dlp's uses: searching for a Spotify track, and fetching pages and media."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sfa.integrations.downloader.base import Downloader, DownloadRejected
from sfa.integrations.downloader.http import HttpDownloader
from sfa.integrations.downloader.spotdl import SpotdlDownloader, spotdl_installed
from sfa.integrations.downloader.spotify import SpotifyDownloader
from sfa.integrations.downloader.ytdlp import YtDlpDownloader


def backends(settings: Mapping[str, Any]) -> list[Downloader]:
    """Every installed backend, in the order ``settings["downloaders"]`` names them."""
    built: dict[str, list[Downloader]] = {
        "spotdl": [SpotdlDownloader(settings.get("spotify_client_id"), settings.get("spotify_client_secret"))]
        if spotdl_installed() else [],
        "ytdlp": [SpotifyDownloader(settings["resolver_search"]), YtDlpDownloader()],
        "http": [HttpDownloader()],
    }
    return [backend for name in settings["downloaders"] for backend in built[name]]


def backends_for(url: str, settings: Mapping[str, Any]) -> list[Downloader]:
    chosen = [backend for backend in backends(settings) if backend.handles(url)]
    if not chosen:
        raise DownloadRejected(f"no downloader handles {url!r} (SFA_DOWNLOADER={','.join(settings['downloaders'])})")
    return chosen
