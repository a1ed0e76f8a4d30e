"""``/api/spotify``: catalogue search, one track's metadata, what a link names, and importing it.

Every route answers 503 ``SPOTIFY_NOT_CONFIGURED`` while ``SFA_SPOTIFY_CLIENT_ID`` is unset. Calls run as the
user's linked Spotify account when there is one, else with the app's client-credentials token.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeVar

from aiohttp import web

from sfa.integrations.downloader import DEFAULT_QUALITY, QUALITIES
from sfa.integrations.spotify import (
    InvalidSpotifyUrl,
    SpotifyApi,
    SpotifyError,
    SpotifyNotFound,
    SpotifyUnauthorized,
    parse_spotify_url,
)
from sfa.integrations.spotify.library import import_tracks
from sfa.integrations.spotify.metadata import SEARCH_TYPES
from sfa.integrations.spotify.urls import SPOTIFY_ID, SpotifyRef
from sfa.web.auth import current_user
from sfa.web.envelope import data, json_body
from sfa.web.errors import APIError, BadRequest, NotFound, ValidationFailed
from sfa.web.keys import CONFIG, DATABASE, SPOTIFY

routes = web.RouteTableDef()

T = TypeVar("T")
MAX_QUERY, MAX_LIMIT, MAX_OFFSET = 200, 50, 1000


async def _api(request: web.Request) -> SpotifyApi:
    user = await current_user(request)
    spotify = request.app[SPOTIFY]
    if not spotify.configured:
        raise APIError("Spotify is not configured on this server (SFA_SPOTIFY_CLIENT_ID is unset)", status=503,
                       code="SPOTIFY_NOT_CONFIGURED")
    return await spotify.api_for(user.id)


async def _call(call: Awaitable[T]) -> T:
    """Spotify's answer, or its failure in the envelope: 404, 401 (link gone: reconnect) or 502."""
    try:
        return await call
    except SpotifyNotFound as exc:
        raise NotFound(str(exc)) from None
    except SpotifyUnauthorized as exc:
        raise APIError(str(exc), status=401, code="UNAUTHORIZED") from None
    except SpotifyError as exc:
        raise APIError(str(exc), status=502, code="SPOTIFY_ERROR") from None


def _ref(body: dict[str, Any]) -> SpotifyRef:
    try:
        return parse_spotify_url(body.get("url"))
    except InvalidSpotifyUrl as exc:
        raise APIError(f"invalid_url: {exc}", status=422, code="INVALID_URL", details={"url": [str(exc)]}) from None


def _int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name, str(default))
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise BadRequest(f"{name} must be an integer {low}..{high}")
    return int(raw)


@routes.get("/api/spotify/search")
async def search(request: web.Request) -> web.Response:
    api = await _api(request)
    query, kind = request.query.get("q", "").strip(), request.query.get("type", "track")
    errors = {}
    if not 0 < len(query) <= MAX_QUERY:
        errors["q"] = [f"must be 1 to {MAX_QUERY} characters"]
    if kind not in SEARCH_TYPES:
        errors["type"] = [f"must be one of {', '.join(SEARCH_TYPES)}"]
    if errors:
        raise ValidationFailed(errors)
    limit, offset = _int(request, "limit", 20, 1, MAX_LIMIT), _int(request, "offset", 0, 0, MAX_OFFSET)
    items, total = await _call(api.search(query, kind, limit=limit, offset=offset))
    return data(items, meta={"page": offset // limit + 1, "page_size": limit, "total_count": total,
                             "total_pages": -(-total // limit)})


@routes.get("/api/spotify/track/{spotify_id}")
async def track(request: web.Request) -> web.Response:
    api = await _api(request)
    spotify_id = request.match_info["spotify_id"]
    if not SPOTIFY_ID.match(spotify_id):
        raise NotFound("not a Spotify track id")
    return data(await _call(api.track(spotify_id)))


@routes.post("/api/spotify/fetch")
async def fetch(request: web.Request) -> web.Response:
    api = await _api(request)
    return data(await _call(api.fetch(_ref(await json_body(request)))))


@routes.post("/api/spotify/import")
async def import_(request: web.Request) -> web.Response:
    api = await _api(request)
    body = await json_body(request)
    ref, quality = _ref(body), body.get("quality", DEFAULT_QUALITY)
    if quality not in QUALITIES:
        raise ValidationFailed({"quality": [f"must be one of {', '.join(QUALITIES)}"]})
    found = await _call(api.fetch(ref))
    user = await current_user(request)
    async with request.app[DATABASE].pool.acquire() as conn, conn.transaction():
        imported = await import_tracks(conn, user.id, found.get("tracks") or [found["track"]], quality=quality,
                                       max_attempts=request.app[CONFIG].queue_max_attempts)
    return data({"type": found["type"], "tracks": imported,
                 "job_ids": [item["job_id"] for item in imported if item["job_id"] is not None]}, status=201)
