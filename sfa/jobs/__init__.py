"""The durable job queue on PostgreSQL: job kinds, states, enqueue, claiming with leases, retries with
backoff, cancel, rescue, and the pipeline that runs each job through the supervision tree's worker pools."""

from __future__ import annotations

from sfa.db.database import Database
from sfa.jobs import store
from sfa.jobs.executors import Execute, JobFailure, inline_executor, pool_executor
from sfa.jobs.job import Job
from sfa.jobs.kinds import JobKind, JobKinds
from sfa.jobs.queue import JobQueue
from sfa.jobs.store import Connection, NewJob


async def enqueue(conn: Connection, kind: JobKind, *, user_id: int, args: dict, track_id: int | None = None,
                  max_attempts: int = 3) -> tuple[Job, bool]:
    """Create a job of ``kind`` in the caller's transaction (with the domain change that causes it); its
    queue wakes at commit. An identical pending job (same track, kind and args) is returned instead, with
    False."""
    return await store.insert(conn, NewJob(user_id, kind.name, kind.queue, kind.running_status, args, track_id,
                                           max_attempts))


async def get_job(database: Database, user_id: int, job_id: int) -> Job | None:
    async with database.pool.acquire() as conn:
        return await store.owned(conn, job_id, user_id)


__all__ = ["Execute", "Job", "JobFailure", "JobKind", "JobKinds", "JobQueue", "NewJob", "enqueue", "get_job",
           "inline_executor", "pool_executor"]
