"""Which web pages may open a socket: Phoenix's ``check_origin``, on by default.

A browser attaches its cookies to a WebSocket upgrade (or a long-poll request) that any page makes, and the
``Origin`` header is the only sign of which page made it. A request with an ``Origin`` is accepted from the
server's own origin (the host the request was sent to, so it holds behind a proxy that keeps ``Host``) and
from the configured allow-list; a request without one does not come from a browser page and is left to
authentication alone.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web


def origin_allowed(request: web.Request, allowed: frozenset[str]) -> bool:
    origin = request.headers.get("Origin")
    if origin is None or "*" in allowed:
        return True
    parts = urlsplit(origin.strip().lower())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    return parts.netloc == request.host.lower() or f"{parts.scheme}://{parts.netloc}" in allowed
