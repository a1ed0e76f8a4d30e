"""``HttpDownloader``: a plain http(s) URL to an audio file, streamed to disk under a size cap.

The response must say it is audio (``audio/*``, or a generic binary type) before a byte is kept; the job
then decodes the whole file, so a mislabelled page is still refused. Quality does not apply: the file is
taken as served.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from sfa.integrations.downloader.base import Cancelled, DownloadRejected, Fetched, Limits, Source, Transfer, Unsupported

CHUNK = 256 * 1024
BINARY_TYPES = ("application/octet-stream", "binary/octet-stream", "application/ogg")
# Statuses where asking again later may work; any other 4xx is the URL's fault.
TRANSIENT = (408, 425, 429)


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
            if 400 <= exc.code < 500 and exc.code not in TRANSIENT:
                raise DownloadRejected(f"the server answered {exc.code} {exc.reason}") from None
            raise
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
            while chunk := response.read(CHUNK):
                if transfer.cancelled():
                    raise Cancelled("cancelled while downloading")
                written += len(chunk)
                if written > max_bytes:
                    raise DownloadRejected(f"the file is larger than the limit of {max_bytes} bytes")
                handle.write(chunk)
                if total:
                    transfer.report(written / total, f"{written} of {total} bytes")
        return written
