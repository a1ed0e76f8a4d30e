"""The downloader behaviour: a backend fetches one URL to a local file; the job around it does the rest.

Backends run inside a worker process (never in the event loop) and may block. They raise
:class:`DownloadRejected` when retrying cannot help (the URL is not audio, too big, gone) and any other
exception for trouble that may pass (a timeout, a 5xx).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from sfa.actors.performers import PermanentError

QUALITIES = ("lossless", "high", "medium", "low")
DEFAULT_QUALITY = "high"

Progress = Callable[[float, str], None]


class DownloadRejected(PermanentError):
    """This URL will not give us audio, however often we ask."""


@dataclass(frozen=True, slots=True)
class Limits:
    max_bytes: int
    timeout_s: float


class Downloader(Protocol):
    name: str

    def handles(self, url: str) -> bool:
        """Whether this backend knows how to fetch ``url``."""

    def fetch(self, url: str, quality: str, dest: Path, limits: Limits, report: Progress) -> int:
        """Write what ``url`` holds to ``dest`` (at most ``limits.max_bytes``); the number of bytes written."""
