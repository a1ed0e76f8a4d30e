"""Downloads: pluggable backends that fetch a URL to a file, and the ``download`` job kind built on them."""

from sfa.integrations.downloader.base import DEFAULT_QUALITY, QUALITIES, Downloader, DownloadRejected, Limits, Progress
from sfa.integrations.downloader.registry import BACKENDS, backend_for

__all__ = ["BACKENDS", "DEFAULT_QUALITY", "QUALITIES", "DownloadRejected", "Downloader", "Limits", "Progress",
           "backend_for"]
