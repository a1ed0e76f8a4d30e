"""``/api/download``: start a download job for a URL (it creates the track), and follow that job."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote, urlsplit

from aiohttp import web

from sfa.integrations.downloader import DEFAULT_QUALITY, QUALITIES
from sfa.integrations.downloader.job import DOWNLOAD_KIND
from sfa.jobs import Job, enqueue, get_job
from sfa.tracks.store import create_track
from sfa.web.auth import current_user
from sfa.web.envelope import data, json_body, path_id
from sfa.web.errors import NotFound, ValidationFailed
from sfa.web.keys import CONFIG, DATABASE, PUBSUB
from sfa.web.openapi import Link, data_reply, operation, track_links
from sfa.web.openapi.components import COUNT, JOB_STARTED, JOB_STATE_FIELDS
from sfa.web.openapi.schema import STRING, enum, nullable, obj, string
from sfa.web.user_events import announce_library_change

routes = web.RouteTableDef()

MAX_URL = 2048
# One rule for the handler and the document: a lower-case http(s) scheme, an ASCII host name or IPv4
# address (IDNs in punycode), an optional port, then anything but controls and spaces.
WEB_URL = "^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?([/?#][^\\x00-\\x20\\x7f]*)?$"
DOWNLOAD_REQUEST = obj({"url": string(1, MAX_URL, pattern=WEB_URL)}, {"quality": enum(QUALITIES)}, closed=False)


def web_url(url: str) -> bool:
    return re.fullmatch(WEB_URL, url) is not None


def download_request(body: dict[str, Any]) -> tuple[str, str]:
    errors: dict[str, list[str]] = {}
    url, quality = body.get("url"), body.get("quality", DEFAULT_QUALITY)
    if not isinstance(url, str) or len(url) > MAX_URL or not web_url(url):
        errors["url"] = [f"must be an http or https URL of at most {MAX_URL} characters"]
    if quality not in QUALITIES:
        errors["quality"] = [f"must be one of {', '.join(QUALITIES)}"]
    if errors:
        raise ValidationFailed(errors)
    return url, quality


def _title(url: str) -> str:
    name = unquote(urlsplit(url).path.rstrip("/").rpartition("/")[2]).rpartition(".")
    return (name[0] or name[2]).strip()[:200] or urlsplit(url).hostname


async def start_download(app: web.Application, user_id: int, url: str, quality: str) -> Job:
    """Create the track a download fills and its job, together."""
    async with app[DATABASE].pool.acquire() as conn, conn.transaction():
        track = await create_track(conn, user_id, title=_title(url), artist=None, source="url", source_url=url)
        job, _ = await enqueue(conn, DOWNLOAD_KIND, user_id=user_id, track_id=track.id,
                               args={"url": url, "quality": quality}, max_attempts=app[CONFIG].queue_max_attempts)
    await announce_library_change(app[PUBSUB], user_id, track_id=track.id, job_id=job.id)
    return job


@routes.post("/api/download/track")
@operation("Download a URL into a new track", tag="download", body=DOWNLOAD_REQUEST,
           replies=data_reply(JOB_STARTED, "the new track's queued download job", status=201, links={
               **track_links("$response.body#/data/track_id"),
               "GetDownloadJob": Link("download_show", {"id": "$response.body#/data/job_id"}),
               "GetJob": Link("jobs_show", {"id": "$response.body#/data/job_id"}),
               "CancelJob": Link("jobs_cancel", {"id": "$response.body#/data/job_id"})}))
async def start(request: web.Request) -> web.Response:
    user = await current_user(request)
    url, quality = download_request(await json_body(request))
    job = await start_download(request.app, user.id, url, quality)
    return data({"job_id": job.id, "track_id": job.track_id, "status": job.status}, status=201)


@routes.get("/api/download/job/{id}")
@operation("A download job's status and output", tag="download", replies=data_reply(
    obj(JOB_STATE_FIELDS | {"output_path": nullable(STRING), "file_size": nullable(COUNT)}), "the job"))
async def show(request: web.Request) -> web.Response:
    user = await current_user(request)
    job = await get_job(request.app[DATABASE], user.id, path_id(request))
    if job is None or job.kind != "download":
        raise NotFound("download job not found")
    result = job.result or {}
    return data({"id": job.id, "status": job.status, "progress": job.progress, "track_id": job.track_id,
                 "output_path": result.get("output_path"), "file_size": result.get("file_size"),
                 "error": job.error})
