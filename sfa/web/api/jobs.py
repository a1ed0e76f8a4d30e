"""``/api/jobs``: the caller's jobs, one job's state, cancelling a pending one; ``/api/admin/jobs`` for operators."""

from __future__ import annotations

from aiohttp import web

from sfa.jobs import events, store
from sfa.jobs.stats import overview
from sfa.pubsub import notify
from sfa.web.auth import current_user, require_role
from sfa.web.envelope import data, page_meta, pagination, path_id
from sfa.web.errors import NotFound, ValidationFailed
from sfa.web.keys import DATABASE

routes = web.RouteTableDef()


@routes.get("/api/jobs")
async def index(request: web.Request) -> web.Response:
    user = await current_user(request)
    page, page_size = pagination(request)
    async with request.app[DATABASE].pool.acquire() as conn:
        found, total = await store.page(conn, user.id, offset=(page - 1) * page_size, limit=page_size)
    return data([job.to_json() for job in found], meta=page_meta(page, page_size, total))


@routes.get("/api/jobs/{id}")
async def show(request: web.Request) -> web.Response:
    user = await current_user(request)
    job_id = path_id(request)
    async with request.app[DATABASE].pool.acquire() as conn:
        job = await store.owned(conn, job_id, user.id)
    if job is None:
        raise NotFound("job not found")
    return data(job.to_json())


@routes.delete("/api/jobs/{id}")
async def cancel(request: web.Request) -> web.Response:
    """Cancel a job that has not started; one that runs or has finished is a 422."""
    user = await current_user(request)
    job_id = path_id(request)
    async with request.app[DATABASE].pool.acquire() as conn, conn.transaction():
        job = await store.cancel(conn, job_id, user.id)
        if job is not None:
            await notify(conn, events.event_for(job))
        else:
            job = await store.owned(conn, job_id, user.id)
            if job is None:
                raise NotFound("job not found")
            raise ValidationFailed({"status": [f"is {job.status}; only a queued job can be cancelled"]})
    return data(job.to_json())


@routes.get("/api/admin/jobs")
@require_role("admin")
async def admin_overview(request: web.Request) -> web.Response:
    return data(await overview(request.app[DATABASE]))
