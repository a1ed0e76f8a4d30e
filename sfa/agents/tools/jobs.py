"""Tools that start work (an analysis, a separation, an import of a URL) or report on a job.

They go through the same functions as the REST handlers, so a job started here is the job the API would
have started: the same checks of ownership and audio, the caller's role (separation needs ``pro``), and the
``api_heavy`` rate limit the four job-starting routes share.
"""

from __future__ import annotations

import time

from sfa.accounts.roles import at_least
from sfa.agents.tools.base import Result, Tool, ToolContext, track_id_parameter
from sfa.analysis.job import ANALYSIS_KIND
from sfa.integrations.downloader import DEFAULT_QUALITY, QUALITIES
from sfa.jobs import Job, get_job
from sfa.separation import DEFAULT_MODEL, MODELS
from sfa.separation.job import ENGINES, PROCESSING_KIND
from sfa.web.api.analysis import analysis_request
from sfa.web.api.download import download_request, start_download
from sfa.web.api.processing import separation_request
from sfa.web.api.track_jobs import start_track_job
from sfa.web.auth import Forbidden
from sfa.web.errors import NotFound
from sfa.web.keys import CONFIG, DATABASE
from sfa.web.rate_limit import LIMITER, RateLimited

SEPARATION_ROLE = "pro"


async def _heavy(context: ToolContext) -> None:
    limiter = context.app[LIMITER]
    decision = await limiter.hit([(limiter.heavy, f"user:{context.user.id}")])
    if not decision.allowed:
        raise RateLimited(decision, time.time())


def started(job: Job) -> Result:
    return {"job_id": job.id, "job_type": job.kind, "track_id": job.track_id, "status": job.status}


async def start_analysis(context: ToolContext, track_id: int) -> Result:
    track_id, features = analysis_request({"track_id": track_id})
    await _heavy(context)
    return started(await start_track_job(context.app, context.user.id, track_id, ANALYSIS_KIND,
                                         {"features": features}))


async def start_separation(context: ToolContext, track_id: int, model: str = DEFAULT_MODEL,
                           engine: str = "local") -> Result:
    if not at_least(context.user.role, SEPARATION_ROLE):
        raise Forbidden(f"requires the {SEPARATION_ROLE} role or higher")
    track_id, model, engine = separation_request({"track_id": track_id, "model": model, "engine": engine},
                                                 context.app[CONFIG].lalalai_key is not None)
    await _heavy(context)
    job = await start_track_job(context.app, context.user.id, track_id, PROCESSING_KIND,
                                {"model": model, "engine": engine})
    return started(job) | {"model": model, "engine": engine}


async def import_url(context: ToolContext, url: str, quality: str = DEFAULT_QUALITY) -> Result:
    url, quality = download_request({"url": url, "quality": quality})
    await _heavy(context)
    return started(await start_download(context.app, context.user.id, url, quality))


async def job_status(context: ToolContext, job_id: int) -> Result:
    job = await get_job(context.app[DATABASE], context.user.id, job_id)
    if job is None:
        raise NotFound(f"you have no job {job_id}")
    return started(job) | {"progress": job.progress, "message": job.message, "error": job.error}


JOB_TOOLS = (
    Tool("start_analysis", "Analyse one of the user's tracks (tempo, key, energy, spectral features); returns "
         "the job id.", {"track_id": track_id_parameter()}, ("track_id",), start_analysis),
    Tool("start_separation", "Separate one of the user's tracks into stems (vocals, drums, bass, other); needs "
         "the pro role; returns the job id.",
         {"track_id": track_id_parameter(), "model": {"type": "string", "enum": list(MODELS)},
          "engine": {"type": "string", "enum": list(ENGINES)}}, ("track_id",), start_separation),
    Tool("import_url", "Import a track from an http(s) URL into the user's library (a download job); returns "
         "the job and track ids.",
         {"url": {"type": "string", "description": "http or https URL of an audio file"},
          "quality": {"type": "string", "enum": list(QUALITIES)}}, ("url",), import_url),
    Tool("job_status", "Status and progress of one of the user's jobs.",
         {"job_id": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}}, ("job_id",), job_status),
)
