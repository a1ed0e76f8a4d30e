"""``/api/jobs``: the caller's jobs, one job's state, cancelling a pending one; ``/api/admin/jobs`` for operators."""

from __future__ import annotations

from aiohttp import web

from sfa.db.database import Database
from sfa.jobs import Job, events, store
from sfa.jobs.stats import overview
from sfa.pubsub import notify
from sfa.web.auth import current_user, require_role
from sfa.web.envelope import data, page_meta, pagination, path_id
from sfa.web.errors import NotFound, ValidationFailed
from sfa.web.keys import DATABASE
from sfa.web.openapi import PAGINATION, data_reply, operation, page_reply
from sfa.web.openapi.components import JOB, QUEUE_OVERVIEW

routes = web.RouteTableDef()


@routes.get("/api/jobs")
@operation("The caller's jobs of every kind, newest first", tag="jobs", query=PAGINATION,
           replies=page_reply(JOB, "one page of jobs"))
async def index(request: web.Request) -> web.Response:
    user = await current_user(request)
    page, page_size = pagination(request)
    async with request.app[DATABASE].pool.acquire() as conn:
        found, total = await store.page(conn, user.id, offset=(page - 1) * page_size, limit=page_size)
    return data([job.to_json() for job in found], meta=page_meta(page, page_size, total))


@routes.get("/api/jobs/{id}")
@operation("One job's status and progress", tag="jobs", replies=data_reply(JOB, "the job"))
async def show(request: web.Request) -> web.Response:
    user = await current_user(request)
    job_id = path_id(request)
    async with request.app[DATABASE].pool.acquire() as conn:
        job = await store.owned(conn, job_id, user.id)
    if job is None:
        raise NotFound("job not found")
    return data(job.to_json())


@routes.delete("/api/jobs/{id}")
@operation("Cancel a job that has not started", tag="jobs", replies=data_reply(JOB, "the cancelled job"),
           errors=(422,), description="A running or finished job cannot be cancelled: 422 on `status`.")
async def cancel(request: web.Request) -> web.Response:
    """Cancel a job that has not started; one that runs or has finished is a 422."""
    user = await current_user(request)
    job_id = path_id(request)
    job = await cancel_job(request.app[DATABASE], user.id, job_id)
    if job is None:
        async with request.app[DATABASE].pool.acquire() as conn:
            job = await store.owned(conn, job_id, user.id)
        if job is None:
            raise NotFound("job not found")
        raise ValidationFailed({"status": [f"is {job.status}; only a queued job can be cancelled"]})
    return data(job.to_json())


async def cancel_job(database: Database, user_id: int, job_id: int) -> Job | None:
    """Cancel the user's job if it has not started, announcing it on ``jobs:<id>``; None otherwise."""
    async with database.pool.acquire() as conn, conn.transaction():
        job = await store.cancel(conn, job_id, user_id)
        if job is not None:
            await notify(conn, events.event_for(job))
    return job


@routes.get("/api/admin/jobs")
@operation("Queue overview: jobs per queue and state, oldest waiting (admin)", tag="admin",
           replies=data_reply(QUEUE_OVERVIEW, "the overview"))
@require_role("admin")
async def admin_overview(request: web.Request) -> web.Response:
    return data(await overview(request.app[DATABASE]))
