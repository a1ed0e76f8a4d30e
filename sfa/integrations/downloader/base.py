"""The downloader behaviour: a backend fetches one source to a local file; the job around it does the rest.

Backends run inside a worker process (never in the event loop) and may block. They raise
:class:`DownloadRejected` when retrying cannot help (the URL is not audio, too big, gone), its subclass
:class:`Unsupported` when another backend might do better (the next one in ``SFA_DOWNLOADER``'s order is
tried), and :class:`DownloadInterrupted` for trouble that may pass (a timeout, a 5xx, a dropped connection).
Anything else they raise is a bug, and crashes the worker.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sfa.actors.performers import PermanentError, TransientError

QUALITIES = ("lossless", "high", "medium", "low")
DEFAULT_QUALITY = "high"
# The bitrate each lossy quality is chosen or transcoded at; lossless keeps the best original.
QUALITY_KBPS = {"high": 320, "medium": 192, "low": 128}
# Client errors where asking again later may work; any other 4xx is the URL's fault, and a 5xx may pass.
TRANSIENT_STATUSES = (408, 425, 429)

Progress = Callable[[float, str], None]


def _never() -> bool:
    return False


class DownloadRejected(PermanentError):
    """This source will not give us audio, however often we ask."""


class Unsupported(DownloadRejected):
    """This backend cannot fetch this source; the next backend in the order may."""


class DownloadInterrupted(TransientError):
    """The source did not answer, or stopped answering: a later attempt may get it."""


def status_failure(status: int, message: str) -> DownloadRejected | DownloadInterrupted:
    """How a source's error status fails the job: for good on a 4xx other than ``TRANSIENT_STATUSES``."""
    if 400 <= status < 500 and status not in TRANSIENT_STATUSES:
        return DownloadRejected(message)
    return DownloadInterrupted(message)


class Cancelled(PermanentError):
    """The job was cancelled while its download ran."""


@dataclass(frozen=True, slots=True)
class Limits:
    max_bytes: int
    timeout_s: float


@dataclass(frozen=True, slots=True)
class Source:
    """What to download: a URL, the quality asked for, and what is known of the track (Spotify's title,
    artists and duration, which a resolver searches by)."""

    url: str
    quality: str = DEFAULT_QUALITY
    hints: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Fetched:
    """What a backend wrote: its size, and what it knows of the encoding (None: the job measures it)."""

    size: int
    codec: str | None = None
    bitrate_kbps: float | None = None
    origin: str | None = None


@dataclass(frozen=True, slots=True)
class Transfer:
    """How a fetch reports: progress (a share 0..1 and a message) and whether the job was cancelled."""

    report: Progress
    cancelled: Callable[[], bool] = _never


class Downloader(Protocol):
    name: str

    def handles(self, url: str) -> bool:
        """Whether this backend knows how to fetch ``url``."""

    def fetch(self, source: Source, dest: Path, limits: Limits, transfer: Transfer) -> Fetched:
        """Write the audio ``source`` names to ``dest`` (at most ``limits.max_bytes``)."""
