"""``/api/analysis``: analyse one of the caller's tracks in an analysis worker, follow the job, read results."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sfa.analysis.job import ANALYSIS_KIND, feature_groups
from sfa.dsp import FEATURE_GROUPS
from sfa.ids import parse_id
from sfa.jobs import get_job
from sfa.tracks.store import fetch_track, latest_analysis
from sfa.web.api.track_jobs import start_track_job
from sfa.web.auth import current_user
from sfa.web.envelope import data, json_body, path_id
from sfa.web.errors import NotFound, ValidationFailed
from sfa.web.keys import DATABASE
from sfa.web.openapi import Link, data_reply, operation
from sfa.web.openapi.components import ANALYSIS, ANALYSIS_RESULT, ANALYZE_REQUEST, JOB_STARTED, JOB_STATE_FIELDS
from sfa.web.openapi.schema import nullable, obj

routes = web.RouteTableDef()

FEATURES_MESSAGE = f"must be all, or a list of {', '.join(FEATURE_GROUPS)}"


def analysis_request(body: dict[str, Any]) -> tuple[int, list[str]]:
    """The track and feature groups an analysis request names; 422 with details when they are not valid."""
    track_id, features = body.get("track_id"), feature_groups(body.get("features", "all"))
    errors = {}
    if (track_id := parse_id(track_id)) is None:
        errors["track_id"] = ["must be the id of one of your tracks"]
    if features is None:
        errors["features"] = [FEATURES_MESSAGE]
    if errors:
        raise ValidationFailed(errors)
    return track_id, features


@routes.post("/api/analysis/analyze")
@operation("Analyse one of the caller's tracks in an analysis worker", tag="analysis", body=ANALYZE_REQUEST,
           errors=(404,),
           replies=data_reply(JOB_STARTED, "the queued job", status=201, links={
               "GetAnalysisJob": Link("analysis_show_job", {"id": "$response.body#/data/job_id"}),
               "GetTrackAnalysis": Link("analysis_show_track_analysis",
                                        {"track_id": "$response.body#/data/track_id"})}))
async def analyze(request: web.Request) -> web.Response:
    user = await current_user(request)
    track_id, features = analysis_request(await json_body(request))
    job = await start_track_job(request.app, user.id, track_id, ANALYSIS_KIND, {"features": features})
    return data({"job_id": job.id, "track_id": job.track_id, "status": job.status}, status=201)


@routes.get("/api/analysis/job/{id}")
@operation("An analysis job's status, progress and result", tag="analysis",
           replies=data_reply(obj(JOB_STATE_FIELDS | {"result": nullable(ANALYSIS_RESULT)}), "the job"))
async def show_job(request: web.Request) -> web.Response:
    user = await current_user(request)
    job = await get_job(request.app[DATABASE], user.id, path_id(request))
    if job is None or job.kind != "analysis":
        raise NotFound("analysis job not found")
    return data({"id": job.id, "track_id": job.track_id, "status": job.status, "progress": job.progress,
                 "result": job.result, "error": job.error})


@routes.get("/api/analysis/{track_id}")
@operation("The track's latest stored analysis", tag="analysis", replies=data_reply(ANALYSIS, "the analysis"))
async def show_track_analysis(request: web.Request) -> web.Response:
    user = await current_user(request)
    async with request.app[DATABASE].pool.acquire() as conn:
        track = await fetch_track(conn, user.id, path_id(request, "track_id"))
    analysis = None if track is None else await latest_analysis(request.app[DATABASE], track.id)
    if analysis is None:
        raise NotFound("no analysis for this track")
    return data({"track_id": track.id, **analysis})
