"""Every statement the queue runs on the ``jobs`` table: one per transition, guarded by the state it leaves.

A transition out of ``running`` also matches the ``attempt`` it was claimed with, so an outcome reported
late (after its job was rescued and claimed again elsewhere) changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from pypika import Order, PostgreSQLQuery, Table
from pypika.functions import Count, Now
from pypika.terms import Parameter

from sfa.jobs.job import COLUMNS, Job
from sfa.jobs.states import CANCELLED, QUEUED, RUNNING

jobs = Table("jobs")
Connection = asyncpg.Connection | asyncpg.pool.PoolConnectionProxy

WAKE_CHANNEL = "sfa_jobs"
RETURNING = ", ".join(f"jobs.{name}" for name in COLUMNS)


def _p(number: int) -> Parameter:
    return Parameter(f"${number}")


# ON CONFLICT must name the partial unique index by its expression and predicate, which pypika cannot spell.
INSERT = f"""
INSERT INTO jobs (user_id, track_id, kind, queue, running_status, args, max_attempts, priority)
VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8)
ON CONFLICT (track_id, kind, md5(args::text)) WHERE state = 'queued' DO NOTHING
RETURNING {RETURNING}
"""
SELECT_PENDING_TWIN = str(PostgreSQLQuery.from_(jobs).select(*COLUMNS).where(
    (jobs.track_id == _p(1)) & (jobs.kind == _p(2)) & (jobs.args == _p(3)) & (jobs.state == QUEUED)))
WAKE = "SELECT pg_notify($1, $2)"

# SKIP LOCKED in a CTE that feeds UPDATE ... FROM (pypika has neither): claiming N jobs is one statement,
# and two nodes claiming at once never wait for each other or take the same job.
CLAIM = f"""
WITH next AS (
    SELECT id FROM jobs
    WHERE state = 'queued' AND queue = $1 AND run_at <= now()
    ORDER BY priority, run_at, id
    LIMIT $2
    FOR UPDATE SKIP LOCKED
)
UPDATE jobs SET state = 'running', attempt = jobs.attempt + 1, node = $3, progress = 0, message = '',
                started_at = now(), heartbeat_at = now(), updated_at = now()
FROM next WHERE jobs.id = next.id
RETURNING {RETURNING}
"""
# Many completions in one statement (unnest), the queue's hot path.
COMPLETE_MANY = f"""
UPDATE jobs SET state = 'completed', progress = 100, message = '', result = done.result, node = NULL,
                finished_at = now(), updated_at = now()
FROM unnest($1::bigint[], $2::integer[], $3::jsonb[]) AS done (id, attempt, result)
WHERE jobs.id = done.id AND jobs.attempt = done.attempt AND jobs.state = 'running'
RETURNING {RETURNING}
"""
# jsonb append of {attempt, at, error}: an expression pypika cannot build.
RETRY = f"""
UPDATE jobs SET state = 'queued', run_at = now() + make_interval(secs => $3), node = NULL, progress = 0,
                message = $4, updated_at = now(),
                errors = errors || jsonb_build_object('attempt', attempt, 'at', now(), 'error', $5::text)
WHERE id = $1 AND attempt = $2 AND state = 'running'
RETURNING {RETURNING}
"""
FAIL = f"""
UPDATE jobs SET state = 'failed', node = NULL, message = '', finished_at = now(), updated_at = now(),
                errors = errors || jsonb_build_object('attempt', attempt, 'at', now(), 'error', $3::text)
WHERE id = $1 AND attempt = $2 AND state = 'running'
RETURNING {RETURNING}
"""
# Jobs whose node stopped renewing their lease; locked so two rescuers never rescue one job twice.
EXPIRED = f"""
SELECT {RETURNING} FROM jobs
WHERE state = 'running' AND heartbeat_at < now() - make_interval(secs => $1)
ORDER BY id LIMIT 100
FOR UPDATE SKIP LOCKED
"""
# A node that stops puts its unfinished jobs back without spending an attempt.
RELEASE = f"""
UPDATE jobs SET state = 'queued', attempt = attempt - 1, node = NULL, progress = 0, message = '',
                run_at = now(), updated_at = now()
WHERE state = 'running' AND node = $1 AND id = ANY($2::bigint[])
RETURNING {RETURNING}
"""
# Finished jobs past the retention, oldest first, a batch at a time (jobs_finished_at_idx): one statement
# never holds locks on a whole backlog. pypika cannot delete through a limited subquery.
PRUNE = """
DELETE FROM jobs WHERE id IN (
    SELECT id FROM jobs
    WHERE finished_at < now() - make_interval(secs => $1) AND state IN ('completed', 'failed', 'cancelled')
    ORDER BY finished_at LIMIT $2
)
"""
HEARTBEAT = str(PostgreSQLQuery.update(jobs).set(jobs.heartbeat_at, Now())
                .where((jobs.state == RUNNING) & (jobs.node == _p(1))))
PROGRESS = str(PostgreSQLQuery.update(jobs).set(jobs.progress, _p(3)).set(jobs.message, _p(4))
               .set(jobs.updated_at, Now())
               .where((jobs.id == _p(1)) & (jobs.attempt == _p(2)) & (jobs.state == RUNNING)).returning(jobs.id))
CANCEL = str(PostgreSQLQuery.update(jobs).set(jobs.state, CANCELLED).set(jobs.finished_at, Now())
             .set(jobs.updated_at, Now())
             .where((jobs.id == _p(1)) & (jobs.user_id == _p(2)) & (jobs.state == QUEUED)).returning(*COLUMNS))
SELECT_OWNED = str(PostgreSQLQuery.from_(jobs).select(*COLUMNS)
                   .where((jobs.id == _p(1)) & (jobs.user_id == _p(2))))
SELECT_PAGE = str(PostgreSQLQuery.from_(jobs).select(*COLUMNS).where(jobs.user_id == _p(1))
                  .orderby(jobs.id, order=Order.desc).limit(_p(2)).offset(_p(3)))
COUNT_OWNED = str(PostgreSQLQuery.from_(jobs).select(Count("*")).where(jobs.user_id == _p(1)))


@dataclass(frozen=True, slots=True)
class NewJob:
    user_id: int
    kind: str
    queue: str
    running_status: str
    args: dict[str, Any]
    track_id: int | None = None
    max_attempts: int = 3
    priority: int = 0


def _args(args: dict[str, Any]) -> str:
    return json.dumps(args, sort_keys=True, separators=(",", ":"))


async def insert(conn: Connection, new: NewJob) -> tuple[Job, bool]:
    """Insert ``new`` and wake its queue at commit; when an identical job is already pending, that one
    and False."""
    args = _args(new.args)
    row = await conn.fetchrow(INSERT, new.user_id, new.track_id, new.kind, new.queue, new.running_status, args,
                              new.max_attempts, new.priority)
    if row is None:
        return Job.from_row(await conn.fetchrow(SELECT_PENDING_TWIN, new.track_id, new.kind, args)), False
    await conn.execute(WAKE, WAKE_CHANNEL, new.queue)
    return Job.from_row(row), True


async def claim(conn: Connection, queue: str, limit: int, node: str) -> list[Job]:
    return [Job.from_row(row) for row in await conn.fetch(CLAIM, queue, limit, node)]


async def complete_many(conn: Connection, done: Sequence[tuple[Job, Any]]) -> list[Job]:
    rows = await conn.fetch(COMPLETE_MANY, [job.id for job, _ in done], [job.attempt for job, _ in done],
                            [json.dumps(result) for _, result in done])
    return [Job.from_row(row) for row in rows]


async def retry(conn: Connection, job: Job, *, delay_s: float, error: str) -> Job | None:
    """Back to ``queued`` after ``delay_s`` (None when the job moved on meanwhile). When an identical job
    was queued while this one ran, this one fails instead: the twin will do the work."""
    message = f"attempt {job.attempt} failed; retrying in {delay_s:.1f}s"
    try:
        async with conn.transaction():
            row = await conn.fetchrow(RETRY, job.id, job.attempt, delay_s, message, error)
    except asyncpg.UniqueViolationError:
        return await fail(conn, job, error=f"{error} (not retried: an identical job is already queued)")
    return None if row is None else Job.from_row(row)


async def fail(conn: Connection, job: Job, *, error: str) -> Job | None:
    row = await conn.fetchrow(FAIL, job.id, job.attempt, error)
    return None if row is None else Job.from_row(row)


async def expired(conn: Connection, lease_s: float) -> list[Job]:
    return [Job.from_row(row) for row in await conn.fetch(EXPIRED, lease_s)]


async def release(conn: Connection, node: str, job_ids: Sequence[int]) -> list[Job]:
    return [Job.from_row(row) for row in await conn.fetch(RELEASE, node, list(job_ids))]


async def prune(conn: Connection, retention_s: float, limit: int) -> int:
    """Delete up to ``limit`` jobs finished more than ``retention_s`` ago; how many went."""
    return int((await conn.execute(PRUNE, retention_s, limit)).split()[-1])


async def heartbeat(conn: Connection, node: str) -> None:
    await conn.execute(HEARTBEAT, node)


async def progress(conn: Connection, job: Job, percent: int, message: str) -> bool:
    return await conn.fetchval(PROGRESS, job.id, job.attempt, percent, message) is not None


async def cancel(conn: Connection, job_id: int, user_id: int) -> Job | None:
    row = await conn.fetchrow(CANCEL, job_id, user_id)
    return None if row is None else Job.from_row(row)


async def owned(conn: Connection, job_id: int, user_id: int) -> Job | None:
    row = await conn.fetchrow(SELECT_OWNED, job_id, user_id)
    return None if row is None else Job.from_row(row)


async def page(conn: Connection, user_id: int, *, offset: int, limit: int) -> tuple[list[Job], int]:
    rows = await conn.fetch(SELECT_PAGE, user_id, limit, offset)
    return [Job.from_row(row) for row in rows], await conn.fetchval(COUNT_OWNED, user_id)
