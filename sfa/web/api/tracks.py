"""``/api/tracks``: the caller's tracks — list, upload, read (with stems and analysis), change, delete."""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMessage

from sfa.tracks import files, store
from sfa.tracks.metadata import changes_or_errors
from sfa.tracks.upload import MAX_TEXT_FIELD, BadUpload, TooLarge, receive, save_track
from sfa.web.auth import current_user
from sfa.web.envelope import data, json_body, json_bytes, page_json, pagination, path_id, text_query
from sfa.web.errors import APIError, BadRequest, NotFound, ValidationFailed
from sfa.web.keys import CONFIG, DATABASE, DECODERS, LISTING_CACHE, PUBSUB
from sfa.web.openapi import PAGINATION, Param, data_reply, no_content, operation, page_reply, track_links
from sfa.web.openapi.components import TRACK, TRACK_CHANGES, TRACK_DETAIL
from sfa.web.openapi.schema import STRING, obj, string
from sfa.web.user_events import announce_library_change

routes = web.RouteTableDef()

MIB = 1 << 20
# Room for the multipart boundaries and the small text fields around the file.
FORM_OVERHEAD = 64 * 1024


QUERY = Param("q", STRING, "only tracks whose title or artist contains this, ignoring case")
UPLOAD = obj({"file": {"type": "string", "contentMediaType": "application/octet-stream"}},
             {"title": string(max_length=MAX_TEXT_FIELD), "artist": string(max_length=MAX_TEXT_FIELD)})


class PayloadTooLarge(APIError):
    status = 413


@routes.get("/api/tracks")
@operation("The caller's tracks, newest first", tag="tracks", query=(*PAGINATION, QUERY),
           replies=page_reply(TRACK, "one page of tracks"))
async def index(request: web.Request) -> web.Response:
    user = await current_user(request)
    page, page_size = pagination(request)
    q = text_query(request, "q")
    cache = request.app[LISTING_CACHE]
    body = cache.get(user.id, (q, page, page_size))
    if body is None:
        generation = cache.generation()
        found, total = await store.list_tracks_json(request.app[DATABASE], user.id, q=q,
                                                    offset=(page - 1) * page_size, limit=page_size)
        body = page_json(found, page=page, page_size=page_size, total_count=total)
        cache.put(user.id, (q, page, page_size), body, generation)
    return json_bytes(body)


@routes.post("/api/tracks")
@operation("Upload an audio file as a new track", tag="tracks", body=UPLOAD, body_media_type="multipart/form-data",
           errors=(413,), replies=data_reply(TRACK, "the new track", status=201,
                                             links=track_links("$response.body#/data/id")))
async def upload(request: web.Request) -> web.Response:
    user = await current_user(request)
    config = request.app[CONFIG]
    max_bytes = config.max_upload_mb * MIB
    too_large = PayloadTooLarge(f"uploads are limited to {config.max_upload_mb} MiB")
    if request.content_length is not None and request.content_length > max_bytes + FORM_OVERHEAD:
        raise too_large
    if not request.content_type.startswith("multipart/"):
        raise BadRequest("send the audio as multipart/form-data with a field named file")
    try:
        received = await receive(await request.multipart(), config.data_dir, max_bytes, request.app[DECODERS])
    except TooLarge:
        raise too_large from None
    except BadUpload as exc:
        raise ValidationFailed({exc.field: [str(exc)]}) from None
    except BadHttpMessage:
        raise BadRequest("malformed multipart body: a part's headers are invalid") from None
    except ValueError as exc:
        raise BadRequest(f"malformed multipart body: {exc}") from None
    track = await save_track(request.app[DATABASE], config.data_dir, user.id, received)
    await announce_library_change(request.app[PUBSUB], user.id, track_id=track.id)
    return data(track.to_json(), status=201)


@routes.get("/api/tracks/{id}")
@operation("One track with its stems and analysis summary", tag="tracks",
           replies=data_reply(TRACK_DETAIL, "the track"))
async def show(request: web.Request) -> web.Response:
    user = await current_user(request)
    database = request.app[DATABASE]
    track = await store.get_track(database, user.id, path_id(request))
    if track is None:
        raise NotFound("track not found")
    stems, analysis = await asyncio.gather(store.track_stems(database, track.id),
                                           store.latest_analysis(database, track.id))
    return data(track.to_json() | {"stems": [stem.to_json() for stem in stems],
                                   "analysis": store.analysis_summary(analysis)})


@routes.patch("/api/tracks/{id}")
@operation("Change a track's title, bpm, key or tags", tag="tracks", body=TRACK_CHANGES,
           replies=data_reply(TRACK, "the changed track"))
async def update(request: web.Request) -> web.Response:
    user = await current_user(request)
    track_id = path_id(request)
    changes, errors = changes_or_errors(await json_body(request))
    if errors:
        raise ValidationFailed(errors)
    track = await store.update_track(request.app[DATABASE], user.id, track_id, changes)
    if track is None:
        raise NotFound("track not found")
    return data(track.to_json())


@routes.delete("/api/tracks/{id}")
@operation("Delete a track and every file that belongs to it", tag="tracks", replies=no_content("deleted"))
async def delete(request: web.Request) -> web.Response:
    user = await current_user(request)
    track_id = path_id(request)
    if not await store.delete_track(request.app[DATABASE], user.id, track_id):
        raise NotFound("track not found")
    await asyncio.to_thread(files.remove_track_files, request.app[CONFIG].data_dir, track_id)
    return web.Response(status=204)
