"""Downloads of the caller's own files: one stem, every stem as a zip, an analysis as JSON, and ``/files/``.

Files are served with ``FileResponse`` (Range requests, so players can seek). The stems zip is written
straight to the response as it is built, one chunk at a time, never held in memory; its entries are
stored, not deflated, since audio barely compresses. Anything not the caller's is 404.
"""

from __future__ import annotations

import asyncio
import json
import re
import zipfile
from pathlib import Path

from aiohttp import web

from sfa.tracks import files, store
from sfa.web.auth import current_user
from sfa.web.envelope import path_id
from sfa.web.errors import NotFound
from sfa.web.keys import CONFIG, DATABASE
from sfa.web.openapi import Reply, file_reply, operation
from sfa.web.openapi.components import ANALYSIS_FIELDS
from sfa.web.openapi.schema import STRING, obj

routes = web.RouteTableDef()

CHUNK = 1 << 20
UNSAFE = re.compile(r"[^A-Za-z0-9 ._()-]+")


def _safe(name: str) -> str:
    return UNSAFE.sub("_", name).strip(" .") or "track"


def _attachment(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{_safe(filename)}"'}


class _ChunkSink:
    """A write-only file for ZipFile that keeps what it is given until the response takes it."""

    def __init__(self) -> None:
        self.pending = bytearray()
        self.written = 0

    def write(self, chunk: bytes) -> int:
        self.pending += chunk
        self.written += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self.written

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        taken, self.pending = bytes(self.pending), bytearray()
        return taken


async def _owned_track(request: web.Request, name: str = "track_id") -> store.Track:
    user = await current_user(request)
    track = await store.get_track(request.app[DATABASE], user.id, path_id(request, name))
    if track is None:
        raise NotFound("track not found")
    return track


def _stem_file(data_dir: Path, stem: store.Stem) -> Path | None:
    located = files.owned_file(data_dir, stem.path)
    return located[1] if located is not None and located[0] == stem.track_id else None


@routes.get("/export/stem/{id}")
@operation("Download one stem's audio file", tag="exports", replies=file_reply("the stem", "audio/*"))
async def stem(request: web.Request) -> web.StreamResponse:
    user = await current_user(request)
    found = await store.get_stem(request.app[DATABASE], user.id, path_id(request))
    if found is None:
        raise NotFound("stem not found")
    path = _stem_file(request.app[CONFIG].data_dir, found)
    if path is None:
        raise NotFound("stem file not found")
    return web.FileResponse(path, headers=_attachment(f"{found.name}{path.suffix}"))


@routes.get("/export/stems/{track_id}")
@operation("Download every stem of a track as one zip", tag="exports",
           replies=file_reply("a zip of the stems, stored uncompressed", "application/zip"))
async def stems_zip(request: web.Request) -> web.StreamResponse:
    track = await _owned_track(request)
    data_dir = request.app[CONFIG].data_dir
    found = await store.track_stems(request.app[DATABASE], track.id)
    entries = [(f"{_safe(stem.name)}{path.suffix}", path) for stem in found
               if (path := _stem_file(data_dir, stem)) is not None]
    if not entries:
        raise NotFound("this track has no stems")
    response = web.StreamResponse(headers={"Content-Type": "application/zip",
                                           **_attachment(f"{track.title} stems.zip")})
    await response.prepare(request)
    sink = _ChunkSink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, path in entries:
            with archive.open(name, "w", force_zip64=True) as entry, path.open("rb") as source:
                while chunk := await asyncio.to_thread(source.read, CHUNK):
                    entry.write(chunk)
                    await response.write(sink.take())
        await response.write(sink.take())
    await response.write(sink.take())
    await response.write_eof()
    return response


@routes.get("/export/analysis/{track_id}")
@operation("Download a track's latest analysis as a JSON file", tag="exports",
           replies=Reply(200, "the analysis", {"application/json": obj(ANALYSIS_FIELDS | {"title": STRING})}))
async def analysis(request: web.Request) -> web.Response:
    track = await _owned_track(request)
    found = await store.latest_analysis(request.app[DATABASE], track.id)
    if found is None:
        raise NotFound("this track has no analysis")
    body = {"track_id": track.id, "title": track.title, **found}
    return web.Response(text=json.dumps(body, indent=2), content_type="application/json",
                        headers=_attachment(f"{track.title} analysis.json"))


@routes.get("/files/{path:.+}")
@operation("One of the caller's files (a track's audio or a stem)", tag="exports",
           replies=file_reply("the file", "audio/*", "application/octet-stream"))
async def owned_file(request: web.Request) -> web.StreamResponse:
    user = await current_user(request)
    located = files.owned_file(request.app[CONFIG].data_dir, request.match_info["path"])
    if located is None or await store.get_track(request.app[DATABASE], user.id, located[0]) is None:
        raise NotFound("file not found")
    return web.FileResponse(located[1])
