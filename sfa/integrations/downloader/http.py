"""``HttpDownloader``: a plain http(s) URL to an audio file, streamed to disk under a size cap.

The response must say it is audio (``audio/*``, or a generic binary type) before a byte is kept; the job
then decodes the whole file, so a mislabelled page is still refused. Quality does not apply: the file is
taken as served.
"""

from __future__ import annotations

import http.client
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from sfa.integrations.downloader.base import (
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

CHUNK = 256 * 1024
BINARY_TYPES = ("application/octet-stream", "binary/octet-stream", "application/ogg")
# What a connection that drops, times out or answers garbage raises (urllib's URLError is an OSError).
NETWORK_ERRORS = (OSError, http.client.HTTPException)


class HttpDownloader:
    name = "http"

    def handles(self, url: str) -> bool:
        return urlsplit(url).scheme in ("http", "https")

    def fetch(self, source: Source, dest: Path, limits: Limits, transfer: Transfer) -> Fetched:
        request = urllib.request.Request(source.url, headers={"User-Agent": "SoundForgeAlchemy/0.1",
                                                              "Accept": "audio/*"})
        try:
            response = urllib.request.urlopen(request, timeout=limits.timeout_s)
        except urllib.error.HTTPError as exc:
            raise status_failure(exc.code, f"the server answered {exc.code} {exc.reason}") from None
        except NETWORK_ERRORS as exc:
            raise DownloadInterrupted(f"the server could not be reached: {getattr(exc, 'reason', exc)!r}") from None
        with response:
            content_type = response.headers.get_content_type()
            if not (content_type.startswith("audio/") or content_type in BINARY_TYPES):
                raise Unsupported(f"the URL serves {content_type}, not audio")
            total = int(response.headers.get("Content-Length") or 0) or None
            if total is not None and total > limits.max_bytes:
                raise DownloadRejected(f"the file is {total} bytes; the limit is {limits.max_bytes}")
            return Fetched(self._stream(response, dest, limits.max_bytes, total, transfer), origin=source.url)

    def _stream(self, response, dest: Path, max_bytes: int, total: int | None, transfer: Transfer) -> int:
        written = 0
        with dest.open("wb") as handle:
            while chunk := _read(response):
                if transfer.cancelled():
                    raise Cancelled("cancelled while downloading")
                written += len(chunk)
                if written > max_bytes:
                    raise DownloadRejected(f"the file is larger than the limit of {max_bytes} bytes")
                handle.write(chunk)
                if total:
                    transfer.report(written / total, f"{written} of {total} bytes")
        if total is not None and written < total:
            raise DownloadInterrupted(f"the transfer broke off after {written} of {total} bytes")
        return written


def _read(response: http.client.HTTPResponse) -> bytes:
    try:
        return response.read(CHUNK)
    except NETWORK_ERRORS as exc:
        raise DownloadInterrupted(f"the transfer broke off: {exc!r}") from None
