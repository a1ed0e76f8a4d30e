"""Downloads: pluggable backends that fetch a source to a file, and the ``download`` job kind built on them."""

from sfa.integrations.downloader.base import (
    DEFAULT_QUALITY,
    QUALITIES,
    Downloader,
    DownloadRejected,
    Fetched,
    Limits,
    Progress,
    Source,
    Transfer,
    Unsupported,
)
from sfa.integrations.downloader.registry import backends, backends_for

__all__ = ["DEFAULT_QUALITY", "QUALITIES", "DownloadRejected", "Downloader", "Fetched", "Limits", "Progress",
           "Source", "Transfer", "Unsupported", "backends", "backends_for"]
