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
from sfa.web.keys import CONFIG, DATABASE, PUBSUB, SPOTIFY
from sfa.web.openapi import Param, data_reply, operation, page_reply
from sfa.web.openapi.components import ID
from sfa.web.openapi.schema import BOOLEAN, STRING, array, component, enum, integer, nullable, obj, string
from sfa.web.user_events import announce_library_change

routes = web.RouteTableDef()

T = TypeVar("T")
MAX_QUERY, MAX_LIMIT, MAX_OFFSET = 200, 50, 1000
ERRORS = (502, 503)

LINK = {"spotify_id": STRING, "url": STRING, "artwork_url": nullable(STRING)}
TRACK_FIELDS = LINK | {"title": STRING, "artists": array(STRING), "album": nullable(STRING),
                       "duration_ms": nullable(integer(0)), "isrc": nullable(STRING), "explicit": BOOLEAN,
                       "track_number": nullable(integer(0))}
TRACK = component("SpotifyTrack", obj(TRACK_FIELDS))
ALBUM = component("SpotifyAlbum", obj(LINK | {"name": STRING, "artists": array(STRING),
                                              "release_date": nullable(STRING), "total_tracks": nullable(integer(0))}))
PLAYLIST = component("SpotifyPlaylist", obj(LINK | {"name": STRING, "owner": nullable(STRING),
                                                    "total_tracks": nullable(integer(0))}))
ARTIST = component("SpotifyArtist", obj(LINK | {"name": STRING, "genres": array(STRING)}))
FETCHED = component("SpotifyFetched", obj({"type": enum(("track", "album", "playlist"))}, {
    "track": TRACK, "album": ALBUM, "playlist": PLAYLIST, "tracks": array(TRACK)}))
IMPORTED = component("SpotifyImport", obj({
    "type": enum(("track", "album", "playlist")), "job_ids": array(ID),
    "tracks": array(obj(TRACK_FIELDS | {"track_id": ID, "job_id": nullable(ID), "created": BOOLEAN}))}))
LINK_REQUEST = obj({"url": string(1, 2048, description="a Spotify track, album or playlist link or URI")},
                   {"quality": enum(QUALITIES)}, closed=False)
SEARCH = (Param("q", string(1, MAX_QUERY, pattern="\\S"), "what to look for", required=True),
          Param("type", enum(SEARCH_TYPES), "kind of result (default track)"),
          Param("limit", integer(1, MAX_LIMIT), f"results per page, 1..{MAX_LIMIT} (default 20)"),
          Param("offset", integer(0, MAX_OFFSET), f"results to skip, 0..{MAX_OFFSET}"))


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
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        raise BadRequest(f"{name} must be an integer {low}..{high}")
    return int(raw)


@routes.get("/api/spotify/search")
@operation("Search Spotify's catalogue", tag="spotify", query=SEARCH, errors=ERRORS, replies=page_reply(
    {"anyOf": [TRACK, ALBUM, PLAYLIST, ARTIST]}, "one page of results of the type asked for"))
async def search(request: web.Request) -> web.Response:
    api = await _api(request)
    query, kind = request.query.get("q", "").strip(), request.query.get("type", "track")
    if not 0 < len(query) <= MAX_QUERY:
        raise BadRequest(f"q must be 1 to {MAX_QUERY} characters")
    if kind not in SEARCH_TYPES:
        raise BadRequest(f"type must be one of {', '.join(SEARCH_TYPES)}")
    limit, offset = _int(request, "limit", 20, 1, MAX_LIMIT), _int(request, "offset", 0, 0, MAX_OFFSET)
    items, total = await _call(api.search(query, kind, limit=limit, offset=offset))
    return data(items, meta={"page": offset // limit + 1, "page_size": limit, "total_count": total,
                             "total_pages": -(-total // limit)})


@routes.get("/api/spotify/track/{spotify_id}")
@operation("A Spotify track's metadata", tag="spotify", errors=ERRORS,
           path={"spotify_id": string(pattern=SPOTIFY_ID.pattern)}, replies=data_reply(TRACK, "the track"))
async def track(request: web.Request) -> web.Response:
    api = await _api(request)
    spotify_id = request.match_info["spotify_id"]
    if not SPOTIFY_ID.match(spotify_id):
        raise NotFound("not a Spotify track id")
    return data(await _call(api.track(spotify_id)))


@routes.post("/api/spotify/fetch")
@operation("What a Spotify link names: a track, or an album or playlist with all its tracks", tag="spotify",
           body=LINK_REQUEST, errors=(404, *ERRORS), replies=data_reply(FETCHED, "the item, by type"))
async def fetch(request: web.Request) -> web.Response:
    api = await _api(request)
    return data(await _call(api.fetch(_ref(await json_body(request)))))


@routes.post("/api/spotify/import")
@operation("Import a Spotify link: its tracks and a download job for each", tag="spotify", body=LINK_REQUEST,
           errors=(404, *ERRORS), replies=data_reply(IMPORTED, "the tracks (new or already the caller's) and the "
                                                     "jobs that download them", status=201))
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
    await announce_library_change(request.app[PUBSUB], user.id, track_id=None)
    return data({"type": found["type"], "tracks": imported,
                 "job_ids": [item["job_id"] for item in imported if item["job_id"] is not None]}, status=201)
