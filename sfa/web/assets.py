"""The built browser bundle (``sfa/web/static``), served under fingerprinted names with long cache headers.

``app.js`` is served as ``/assets/app-<hash>.js``, the hash being the first 12 hex digits of its SHA-256, so
a browser may keep it a year (``immutable``) and a new build is a new URL. Pages name files through
:func:`asset_url`. A request for an old fingerprint gets 404 rather than the new content under an old name.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

STATIC_DIR = Path(__file__).resolve().parent / "static"
CACHE_FOREVER = "public, max-age=31536000, immutable"
CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css", ".map": "application/json"}


@dataclass(frozen=True, slots=True)
class Asset:
    url: str
    body: bytes
    content_type: str


class Assets:
    """Every file of the static folder, read once, by logical name (``app.js``) and by fingerprinted URL."""

    def __init__(self, folder: Path = STATIC_DIR) -> None:
        self._by_name: dict[str, Asset] = {}
        self._by_url: dict[str, Asset] = {}
        for path in sorted(folder.glob("*")):
            if path.suffix not in CONTENT_TYPES:
                continue
            body = path.read_bytes()
            digest = hashlib.sha256(body).hexdigest()[:12]
            asset = Asset(f"/assets/{path.stem}-{digest}{path.suffix}", body, CONTENT_TYPES[path.suffix])
            self._by_name[path.name] = asset
            self._by_url[asset.url] = asset

    def url(self, name: str) -> str:
        return self._by_name[name].url

    def find(self, url: str) -> Asset | None:
        return self._by_url.get(url)


ASSETS = Assets()


def asset_url(name: str) -> str:
    return ASSETS.url(name)


routes = web.RouteTableDef()


@routes.get("/assets/{name}")
async def serve(request: web.Request) -> web.Response:
    asset = ASSETS.find(request.path)
    if asset is None:
        raise web.HTTPNotFound(text="no such asset (an old fingerprint?): reload the page\n")
    return web.Response(body=asset.body, content_type=asset.content_type,
                        headers={"Cache-Control": CACHE_FOREVER})
