"""A client for lalal.ai's HTTP API (v1): upload, multistem split, check, cancel, minutes left.

It speaks the wire format of lalal.ai's published OpenAPI description (API v1.1): every call is a
``POST`` under ``/api/v1/`` authenticated by the ``X-License-Key`` header; the upload body is the file's
bytes with its name in ``Content-Disposition``; the other bodies and answers are JSON; errors are JSON
``{"detail": ..., "code": ...}``. Results are downloaded from the signed URLs ``/check/`` returns.
It is synchronous (``urllib``): the processing job calls it from its worker thread, the web routes
through ``asyncio.to_thread``. The key never appears in an error.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import quote
from urllib.request import Request, urlopen

TIMEOUT_S = 60.0
UPLOAD, SPLIT, CHECK = "/api/v1/upload/", "/api/v1/split/multistem/", "/api/v1/check/"
CANCEL, CANCEL_ALL, MINUTES_LEFT = "/api/v1/cancel/", "/api/v1/cancel/all/", "/api/v1/limits/minutes_left/"


class LalalaiError(Exception):
    """lalal.ai refused a call or could not be reached; ``status`` is its HTTP status (0: no answer)."""

    def __init__(self, message: str, *, status: int = 0, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code = status, code


def content_disposition(filename: str) -> str:
    """RFC 6266: a plain ASCII name quoted, anything else as ``filename*=utf-8''...``."""
    if filename.isascii() and '"' not in filename:
        return f'attachment; filename="{filename}"'
    return f"attachment; filename*=utf-8''{quote(filename)}"


class LalalaiClient:
    def __init__(self, base_url: str, key: str, *, timeout_s: float = TIMEOUT_S) -> None:
        self.base_url = base_url.rstrip("/")
        self._key = key
        self.timeout_s = timeout_s

    def upload(self, path: Path, filename: str) -> str:
        """Upload the file; lalal.ai's id of the source file."""
        with path.open("rb") as body:
            answer = self._post(UPLOAD, body, {"Content-Disposition": content_disposition(filename),
                                               "Content-Type": "application/octet-stream",
                                               "Content-Length": str(path.stat().st_size)})
        return answer["id"]

    def split(self, source_id: str, stems: list[str], *, encoder_format: str = "wav") -> str:
        """Start a multistem split; the task id."""
        answer = self._post_json(SPLIT, {"source_id": source_id, "presets": {
            "stem_list": stems, "encoder_format": encoder_format}})
        return answer["task_id"]

    def check(self, task_ids: list[str]) -> dict[str, dict[str, Any]]:
        """Task id → its state: ``status`` progress (with ``progress``), success (with ``result.tracks``),
        error, cancelled or server_error."""
        return self._post_json(CHECK, {"task_ids": task_ids})["result"]

    def cancel(self, task_ids: list[str]) -> dict[str, dict[str, Any]]:
        return self._post_json(CANCEL, {"task_ids": task_ids})["result"]

    def cancel_all(self) -> dict[str, dict[str, Any]]:
        return self._post_json(CANCEL_ALL, None)["result"]

    def minutes_left(self) -> float:
        return float(self._post_json(MINUTES_LEFT, None)["minutes_left"])

    def download(self, url: str, destination: Path) -> int:
        """Fetch a result track (a signed URL: no key is sent with it); the bytes written."""
        try:
            with urlopen(Request(url), timeout=self.timeout_s) as response, destination.open("wb") as out:
                shutil.copyfileobj(response, out)
        except HTTPError as exc:
            raise LalalaiError(f"lalal.ai result download answered {exc.code}", status=exc.code) from None
        except (URLError, OSError) as exc:
            raise LalalaiError(f"lalal.ai result download failed: {exc}") from None
        return destination.stat().st_size

    def _post_json(self, path: str, body: Any) -> dict[str, Any]:
        payload = b"" if body is None else json.dumps(body).encode()
        return self._post(path, payload, {"Content-Type": "application/json"})

    def _post(self, path: str, body: Any, headers: dict[str, str]) -> dict[str, Any]:
        request = Request(self.base_url + path, data=body, method="POST",
                          headers={**headers, "X-License-Key": self._key, "Accept": "application/json"})
        try:
            with urlopen(request, timeout=self.timeout_s) as response:
                return json.load(response)
        except HTTPError as exc:
            detail, code = _error(exc)
            raise LalalaiError(f"lalal.ai {path} answered {exc.code}: {detail}", status=exc.code, code=code) from None
        except (URLError, OSError, ValueError) as exc:
            raise LalalaiError(f"lalal.ai {path} failed: {exc}") from None


def _error(exc: HTTPError) -> tuple[str, str | None]:
    try:
        body = json.loads(exc.read() or b"{}")
    except ValueError:
        return exc.reason or "no details", None
    detail = body.get("detail", "no details") if isinstance(body, dict) else body
    return (detail if isinstance(detail, str) else json.dumps(detail)), (body.get("code") if isinstance(body, dict)
                                                                         else None)
