"""``YtDlpDownloader``: pages and direct media through yt-dlp's Python API, in the download worker.

The quality picks the format: ``lossless`` keeps the best original as served; ``high``, ``medium`` and
``low`` take an audio format at or under their bitrate when the source lists one, and otherwise transcode
the best audio to MP3 at that bitrate with ffmpeg (without ffmpeg such a job fails, saying so). yt-dlp's
own retries are off: the job queue retries with its backoff. Its progress hook reports percent, speed and
ETA, and enforces the size limit and cancellation by raising; the work folder goes either way.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yt_dlp
from yt_dlp.postprocessor import FFmpegExtractAudioPP
from yt_dlp.utils import DownloadError

from sfa.integrations.downloader.base import (
    QUALITY_KBPS,
    Cancelled,
    DownloadInterrupted,
    DownloadRejected,
    Fetched,
    Limits,
    Source,
    Transfer,
    Unsupported,
    status_failure,
)

LOSSLESS_CODECS = ("flac", "alac", "wav", "pcm", "aiff", "ape", "wavpack")
DOWNLOAD_SHARE = 0.85
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def ffmpeg_available() -> bool:
    return shutil.which("ffmpeg") is not None and shutil.which("ffprobe") is not None


def transcode_target(quality: str, info: dict[str, Any]) -> int | None:
    """The bitrate to transcode to, or None to keep what the chosen format is."""
    if quality == "lossless":
        return None
    target = QUALITY_KBPS[quality]
    codec, bitrate = (info.get("acodec") or "").lower(), info.get("abr")
    if bitrate and bitrate <= target and codec not in ("", "none") and not codec.startswith(LOSSLESS_CODECS):
        return None
    return target


def format_spec(quality: str) -> str:
    if quality == "lossless":
        return "bestaudio/best"
    return f"bestaudio[abr<={QUALITY_KBPS[quality]}]/bestaudio/best"


def _size(total: float) -> str:
    return f"{total / (1 << 20):.1f} MiB" if total >= 1 << 20 else f"{total / 1024:.0f} KiB"


class _Log:
    """yt-dlp's logger: warnings and debug lines are dropped, errors kept for the failure message."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def debug(self, message: str) -> None:
        pass

    def warning(self, message: str) -> None:
        pass

    def error(self, message: str) -> None:
        self.errors.append(ANSI.sub("", message))


class _Watch:
    """The progress hook: reports, and stops the transfer (by raising) when it is cancelled or too big."""

    def __init__(self, transfer: Transfer, max_bytes: int, share: float) -> None:
        self.transfer, self.max_bytes, self.share = transfer, max_bytes, share
        self.stopped: Exception | None = None

    def _stop(self, reason: Exception) -> None:
        self.stopped = reason
        raise reason

    def on_download(self, status: dict[str, Any]) -> None:
        if self.transfer.cancelled():
            self._stop(Cancelled("cancelled while downloading; the partial file was removed"))
        done = status.get("downloaded_bytes") or 0
        total = status.get("total_bytes") or status.get("total_bytes_estimate")
        if max(done, total or 0) > self.max_bytes:
            self._stop(DownloadRejected(f"the file is larger than the limit of {self.max_bytes} bytes"))
        if status["status"] != "downloading" or not total:
            return
        speed, eta = status.get("speed"), status.get("eta")
        message = f"{100 * done / total:.0f}% of {_size(total)}"
        if speed:
            message += f" at {speed / 1024:.0f} KiB/s"
        if eta is not None:
            message += f", ETA {eta:.0f} s"
        self.transfer.report(self.share * done / total, message)

    def on_postprocess(self, status: dict[str, Any]) -> None:
        if status["status"] == "started" and status.get("postprocessor") == "ExtractAudio":
            self.transfer.report(self.share, "transcoding with ffmpeg")


class YtDlpDownloader:
    name = "ytdlp"

    def handles(self, url: str) -> bool:
        return urlsplit(url).scheme in ("http", "https")

    def fetch(self, source: Source, dest: Path, limits: Limits, transfer: Transfer) -> Fetched:
        workdir = dest.with_name(dest.name + ".ytdlp")
        workdir.mkdir(parents=True, exist_ok=True)
        try:
            return self._fetch(source, dest, workdir, limits, transfer)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def _fetch(self, source: Source, dest: Path, workdir: Path, limits: Limits, transfer: Transfer) -> Fetched:
        log = _Log()
        watch = _Watch(transfer, limits.max_bytes, 1.0 if source.quality == "lossless" else DOWNLOAD_SHARE)
        options = {"logger": log, "quiet": True, "no_warnings": True, "noprogress": True, "noplaylist": True,
                   "playlist_items": "1", "socket_timeout": limits.timeout_s, "retries": 0, "fragment_retries": 0,
                   "extractor_retries": 0, "cachedir": False, "overwrites": True, "color": {"stderr": "never"},
                   "outtmpl": {"default": str(workdir / "media.%(ext)s")}, "format": format_spec(source.quality),
                   "progress_hooks": [watch.on_download], "postprocessor_hooks": [watch.on_postprocess]}
        with yt_dlp.YoutubeDL(options) as ydl:
            info = self._run(ydl.extract_info, log, watch, source.url, download=False)
            if info.get("_type") == "playlist":
                entries = [entry for entry in info.get("entries") or [] if entry]
                if not entries:
                    raise DownloadRejected("the page has no audio on it")
                info = entries[0]
            target = transcode_target(source.quality, info)
            if target is not None:
                if not ffmpeg_available():
                    raise DownloadRejected(f"quality {source.quality!r} needs ffmpeg to transcode to {target} kbps "
                                           "MP3 and ffmpeg is not installed on this worker; install ffmpeg or ask "
                                           "for lossless")
                ydl.add_post_processor(FFmpegExtractAudioPP(ydl, preferredcodec="mp3", preferredquality=str(target)),
                                       when="post_process")
            self._run(ydl.process_info, log, watch, info)
        produced = [path for path in workdir.iterdir() if path.name.startswith("media.")
                    and path.suffix not in (".part", ".ytdl", ".temp")]
        if len(produced) != 1:
            raise DownloadRejected("yt-dlp finished without an audio file")
        shutil.move(produced[0], dest)
        if target is not None:
            return Fetched(dest.stat().st_size, "mp3", float(target), source.url)
        return Fetched(dest.stat().st_size, info.get("acodec") or info.get("ext"), info.get("abr"),
                       source.url)

    def _run(self, call, log: _Log, watch: _Watch, *args: Any, **kwargs: Any) -> Any:
        """Call yt-dlp; its failures as ours: rejected (no retry), unsupported (next backend) or transient."""
        try:
            return call(*args, **kwargs)
        except DownloadError as exc:
            if watch.stopped is not None:
                raise watch.stopped from None
            raise _classify(exc, log) from None


def _classify(exc: DownloadError, log: _Log) -> Exception:
    message = ANSI.sub("", log.errors[-1] if log.errors else str(exc)).removeprefix("ERROR: ")
    cause = exc.exc_info[1] if exc.exc_info else None
    status = getattr(getattr(cause, "response", None), "status", None) or getattr(cause, "status", None)
    if "Unsupported URL" in message:
        return Unsupported(f"yt-dlp found no audio: {message}")
    if "Postprocessing" in message or type(cause).__name__ == "PostProcessingError":
        return DownloadRejected(f"not a readable audio file (ffmpeg could not convert it: {message})")
    if isinstance(status, int):
        return status_failure(status, message)
    return DownloadInterrupted(message)
