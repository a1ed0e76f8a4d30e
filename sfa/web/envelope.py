"""The contract's envelope: ``{"data": ...}`` on success, ``{"error", "code"}`` on failure, under ``/api``.

:func:`failure_response` (called by :mod:`sfa.web.middleware`) turns every way a request can fail into that
shape: an :class:`APIError` from a handler, aiohttp's own HTTP errors (unknown route, wrong method, body too
large), a request body that stalled (408, the connection closed after it) and, for our bugs, any other
exception, which becomes a bare 500 carrying the request id while the traceback goes to the log.
"""

from __future__ import annotations

import json
import logging
import math
from typing import Any

from aiohttp import web

from sfa.db.text import UNSTORABLE_MESSAGE, all_storable, storable
from sfa.ids import parse_id
from sfa.web.connection_guard import BodyTimeout
from sfa.web.errors import APIError, BadRequest, NotFound, code_for
from sfa.web.request_id import request_id

log = logging.getLogger(__name__)

API_PREFIXES = ("/api/", "/export/", "/files/")
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
# Far past any real list, yet small enough that the row offset it makes fits PostgreSQL's bigint.
MAX_PAGE = 10**9


def is_api(request: web.Request) -> bool:
    return request.path == "/api" or request.path.startswith(API_PREFIXES)


def data(payload: Any, *, status: int = 200, meta: dict | None = None) -> web.Response:
    body = {"data": payload} if meta is None else {"data": payload, "meta": meta}
    return web.json_response(body, status=status, dumps=dumps)


def page_json(payload: bytes, *, page: int, page_size: int, total_count: int) -> bytes:
    """The body :func:`data` with :func:`page_meta` writes, for a page already written as JSON (as :func:`dumps`
    would write it)."""
    # The meta holds only integers under plain names: written here as dumps would, without its encoder.
    meta = ",".join(f'"{name}":{value}' for name, value in page_meta(page, page_size, total_count).items())
    return b'{"data":' + payload + f',"meta":{{{meta}}}}}'.encode()


def json_bytes(body: bytes) -> web.Response:
    """A response of JSON already written."""
    return web.Response(body=body, content_type="application/json", charset="utf-8")


def page_meta(page: int, page_size: int, total_count: int) -> dict[str, int]:
    return {"page": page, "page_size": page_size, "total_count": total_count,
            "total_pages": math.ceil(total_count / page_size)}


def pagination(request: web.Request) -> tuple[int, int]:
    """``page`` (1..MAX_PAGE) and ``page_size`` (1..100, default 20) from the query; 400 on anything else."""
    try:
        page = int(request.query.get("page", 1))
        page_size = int(request.query.get("page_size", DEFAULT_PAGE_SIZE))
    except ValueError:
        raise BadRequest("page and page_size must be integers") from None
    if not 1 <= page <= MAX_PAGE or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise BadRequest(f"page must be 1..{MAX_PAGE} and page_size 1..{MAX_PAGE_SIZE}")
    return page, page_size


def path_id(request: web.Request, name: str = "id") -> int:
    """An id from the path (:func:`sfa.ids.parse_id`); anything that cannot be one of ours is not found."""
    record_id = parse_id(request.match_info[name])
    if record_id is None:
        raise NotFound()
    return record_id


def error_response(error: APIError) -> web.Response:
    return web.json_response(error.body(), status=error.status, headers=error.headers, dumps=dumps)


def dumps(value: Any) -> str:
    return json.dumps(value, default=str, separators=(",", ":"))


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object; malformed JSON or anything but an object is a 400."""
    try:
        body = await request.json(loads=json.loads)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"malformed JSON: {exc}") from None
    except RecursionError:
        raise BadRequest("malformed JSON: nested too deeply") from None
    if not isinstance(body, dict):
        raise BadRequest("expected a JSON object")
    if not all_storable(body):
        raise BadRequest(f"malformed JSON: {UNSTORABLE_MESSAGE}")
    return body


def text_query(request: web.Request, name: str) -> str | None:
    """A text query parameter, stripped; None when absent or blank, 400 when it cannot be stored."""
    value = request.query.get(name, "").strip()
    if not storable(value):
        raise BadRequest(f"{name}: {UNSTORABLE_MESSAGE}")
    return value or None


def failure_response(request: web.Request, exc: Exception) -> web.Response | None:
    """The envelope's answer to ``exc``, raised while handling ``request``; None for what aiohttp answers as it
    is (a redirect, an HTTP error outside the API)."""
    if isinstance(exc, APIError):
        return error_response(exc)
    if isinstance(exc, BodyTimeout):
        response = error_response(APIError(str(exc), status=408))
        response.force_close()
        return response
    if isinstance(exc, web.HTTPException):
        if exc.status < 400 or not is_api(request):
            return None
        headers = {k: v for k, v in exc.headers.items() if k.lower() in ("allow", "retry-after")}
        message = exc.reason.lower() if exc.text.startswith(f"{exc.status}:") else exc.text
        return error_response(APIError(message, status=exc.status, code=code_for(exc.status), headers=headers))
    log.error("unhandled error in %s %s", request.method, request.path, exc_info=exc)
    rid = request_id(request)
    if not is_api(request):
        return web.Response(status=500, text=f"500 Internal Server Error (request id {rid})\n")
    body = {"error": "internal server error", "code": "INTERNAL_ERROR", "request_id": rid}
    return web.json_response(body, status=500, dumps=dumps)
