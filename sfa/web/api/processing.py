"""``/api/processing``: the separation models, starting a separation (``pro`` or higher), following it."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pypika import PostgreSQLQuery, Table
from pypika.terms import Parameter

from sfa.ids import parse_id
from sfa.jobs import get_job
from sfa.separation import DEFAULT_MODEL, MODELS, hub_dir
from sfa.separation.job import ENGINES, LALALAI, PROCESSING_KIND
from sfa.tracks.store import STEM_COLUMNS, Stem
from sfa.web.api.track_jobs import start_track_job
from sfa.web.auth import current_user, require_role
from sfa.web.envelope import data, json_body, path_id
from sfa.web.errors import NotFound, ValidationFailed
from sfa.web.keys import CONFIG, DATABASE
from sfa.web.openapi import Link, data_reply, operation
from sfa.web.openapi.components import JOB_STARTED_FIELDS, JOB_STATE_FIELDS, MODEL, SEPARATE_REQUEST, STEM
from sfa.web.openapi.schema import STRING, array, enum, nullable, obj

routes = web.RouteTableDef()

stems = Table("stems")
SELECT_JOB_STEMS = str(PostgreSQLQuery.from_(stems).select(*STEM_COLUMNS)
                       .where(stems.job_id == Parameter("$1")).orderby(stems.id))


@routes.get("/api/processing/models")
@operation("The separation models and engines", tag="processing", replies=data_reply(
    obj({"models": array(MODEL), "default": enum(MODELS), "engines": array(enum(ENGINES))}), "the models"))
async def models(request: web.Request) -> web.Response:
    await current_user(request)
    hub = hub_dir()
    return data({"models": [spec.to_json(hub) for spec in MODELS.values()], "default": DEFAULT_MODEL,
                 "engines": list(ENGINES)})


def separation_request(body: dict[str, Any], lalalai_configured: bool) -> tuple[Any, str, str]:
    track_id, model, engine = body.get("track_id"), body.get("model", DEFAULT_MODEL), body.get("engine", "local")
    errors: dict[str, list[str]] = {}
    if (track_id := parse_id(track_id)) is None:
        errors["track_id"] = ["must be the id of one of your tracks"]
    if not isinstance(model, str) or model not in MODELS:
        errors["model"] = [f"must be one of {', '.join(MODELS)}"]
    if engine not in ENGINES:
        errors["engine"] = [f"must be one of {', '.join(ENGINES)}"]
    elif engine == LALALAI and not lalalai_configured:
        errors["engine"] = ["lalalai is not configured on this server (SFA_LALALAI_KEY is unset)"]
    if errors:
        raise ValidationFailed(errors)
    return track_id, model, engine


@routes.post("/api/processing/separate")
@operation("Separate one of the caller's tracks into stems (pro)", tag="processing", body=SEPARATE_REQUEST,
           errors=(404,),
           replies=data_reply(obj(JOB_STARTED_FIELDS | {"model": enum(MODELS), "engine": enum(ENGINES)}),
                              "the queued job", status=201, links={
                                  "GetProcessingJob": Link("processing_show", {"id": "$response.body#/data/job_id"})}))
@require_role("pro")
async def separate(request: web.Request) -> web.Response:
    user = await current_user(request)
    config = request.app[CONFIG]
    track_id, model, engine = separation_request(await json_body(request), config.lalalai_key is not None)
    job = await start_track_job(request.app, user.id, track_id, PROCESSING_KIND, {"model": model, "engine": engine})
    return data({"job_id": job.id, "track_id": job.track_id, "model": model, "engine": engine,
                 "status": job.status}, status=201)


@routes.get("/api/processing/job/{id}")
@operation("A separation job's status, progress and stems", tag="processing", replies=data_reply(
    obj(JOB_STATE_FIELDS | {"message": STRING, "model": nullable(STRING), "engine": nullable(STRING),
                            "stems": array(STEM)}), "the job"))
async def show(request: web.Request) -> web.Response:
    user = await current_user(request)
    database = request.app[DATABASE]
    job = await get_job(database, user.id, path_id(request))
    if job is None or job.kind != "processing":
        raise NotFound("processing job not found")
    async with database.pool.acquire() as conn:
        rows = await conn.fetch(SELECT_JOB_STEMS, job.id)
    return data({"id": job.id, "status": job.status, "progress": job.progress, "message": job.message,
                 "model": job.args.get("model"), "engine": job.args.get("engine"), "track_id": job.track_id,
                 "stems": [Stem(**dict(row)).to_json() for row in rows], "error": job.error})
