"""The yt-dlp backend on its own, called as the worker calls it, against the local media server: progress
messages, cancelling mid-transfer, the size limit, and a lossy quality on a machine without ffmpeg."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from sfa.integrations.downloader import DownloadRejected, Limits, Source, Transfer
from sfa.integrations.downloader.base import Cancelled
from sfa.integrations.downloader.registry import backends
from sfa.integrations.downloader.ytdlp import YtDlpDownloader
from tests.jobs.test_download import SONG, audio_server  # noqa: F401  (fixture)

pytestmark = pytest.mark.embedded_only

LIMITS = Limits(max_bytes=1 << 20, timeout_s=10)


def fetch(url: str, dest: Path, *, quality: str = "lossless", limits: Limits = LIMITS, cancel_after: int = 0):
    reports: list[tuple[float, str]] = []

    def cancelled() -> bool:
        return bool(cancel_after) and len(reports) >= cancel_after

    transfer = Transfer(lambda share, message: reports.append((share, message)), cancelled)
    return asyncio.to_thread(YtDlpDownloader().fetch, Source(url, quality), dest, limits, transfer), reports


async def test_progress_reports_percent_size_speed_and_eta(audio_server, tmp_path):  # noqa: F811
    call, reports = fetch(f"http://127.0.0.1:{audio_server.port}/slow.flac", tmp_path / "song.part")
    fetched = await call
    assert fetched.size == len(SONG) and (tmp_path / "song.part").read_bytes() == SONG
    assert len(reports) > 3 and [share for share, _ in reports] == sorted(share for share, _ in reports)
    assert all(re.fullmatch(r"\d+% of \d+ KiB( at \d+ KiB/s)?(, ETA \d+ s)?", m) for _, m in reports), reports
    assert any(re.fullmatch(r"\d+% of \d+ KiB at \d+ KiB/s, ETA \d+ s", m) for _, m in reports), reports
    assert reports[-1][1].startswith("100% of")


async def test_a_cancelled_download_stops_and_leaves_no_partial_file(audio_server, tmp_path):  # noqa: F811
    call, _ = fetch(f"http://127.0.0.1:{audio_server.port}/slow.flac", tmp_path / "song.part", cancel_after=2)
    with pytest.raises(Cancelled, match="cancelled while downloading"):
        await call
    assert list(tmp_path.iterdir()) == []


async def test_the_size_limit_holds(audio_server, tmp_path):  # noqa: F811
    call, _ = fetch(f"http://127.0.0.1:{audio_server.port}/slow.flac", tmp_path / "song.part",
                    limits=Limits(max_bytes=len(SONG) // 2, timeout_s=10))
    with pytest.raises(DownloadRejected, match="larger than the limit"):
        await call
    assert list(tmp_path.iterdir()) == []


async def test_a_lossy_quality_without_ffmpeg_says_it_needs_ffmpeg(audio_server, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    call, _ = fetch(f"http://127.0.0.1:{audio_server.port}/listen/great-song", tmp_path / "song.part",
                    quality="medium")
    with pytest.raises(DownloadRejected, match="needs ffmpeg to transcode to 192 kbps"):
        await call
    assert list(tmp_path.iterdir()) == []


def test_the_order_setting_lists_the_installed_backends():
    names = [b.name for b in backends({"downloaders": ["http", "spotdl", "ytdlp"], "resolver_search": "x{query}"})]
    assert names[0] == "http" and names[-2:] == ["ytdlp search", "ytdlp"]
