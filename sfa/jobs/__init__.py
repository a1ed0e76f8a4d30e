"""The durable job queue on PostgreSQL: states, enqueue, claiming with leases, retries with backoff,
cancel, rescue, and the pipeline that runs each job through the supervision tree's worker pools."""

from __future__ import annotations

from sfa.db.database import Database
from sfa.jobs import store
from sfa.jobs.executors import Execute, JobFailure, inline_executor, pool_executor
from sfa.jobs.job import Job
from sfa.jobs.queue import JobQueue, node_concurrency
from sfa.jobs.states import QUEUES
from sfa.jobs.store import Connection, NewJob


async def enqueue(conn: Connection, *, user_id: int, kind: str, args: dict, track_id: int | None = None,
                  max_attempts: int = 3) -> tuple[Job, bool]:
    """Create a job in the caller's transaction (with the domain change that causes it); its queue wakes
    at commit. An identical pending job (same track, kind and args) is returned instead, with False."""
    return await store.insert(conn, NewJob(user_id, kind, QUEUES[kind], args, track_id, max_attempts))


async def get_job(database: Database, user_id: int, job_id: int) -> Job | None:
    async with database.pool.acquire() as conn:
        return await store.owned(conn, job_id, user_id)


__all__ = ["Execute", "Job", "JobFailure", "JobQueue", "NewJob", "enqueue", "get_job", "inline_executor",
           "node_concurrency", "pool_executor"]
