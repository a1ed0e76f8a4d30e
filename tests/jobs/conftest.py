"""A real JobQueue per test on its own queue name (the database is shared by the whole session), with an
in-loop executor whose behaviours the jobs' args choose."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import pytest

from sfa.actors import WorkerPool
from sfa.config import Config
from sfa.db import Database
from sfa.job_kinds import JOB_KINDS
from sfa.jobs import Execute, Job, JobFailure, JobQueue, inline_executor, pool_executor, store
from sfa.jobs.store import NewJob


class Behaviours:
    """In-loop performers for kind ``analysis``; ``args["do"]`` picks one. ``gates`` hold blocked jobs."""

    def __init__(self) -> None:
        self.gates: dict[int, asyncio.Event] = {}
        self.running: set[int] = set()
        self.most_at_once = 0
        self.runs: list[tuple[int, int]] = []

    async def perform(self, job: Job, args: dict[str, Any], report) -> Any:
        self.runs.append((job.id, job.attempt))
        self.running.add(job.id)
        self.most_at_once = max(self.most_at_once, len(self.running))
        try:
            return await BEHAVIOURS[args["do"]](self, job, args, report)
        finally:
            self.running.discard(job.id)

    async def succeed(self, job: Job, args: dict, report) -> Any:
        await report(0.5, "half way")
        return {"answer": 42, "attempt": job.attempt}

    async def fail_until(self, job: Job, args: dict, report) -> Any:
        if job.attempt < args["succeed_on"]:
            raise JobFailure(f"flaky on attempt {job.attempt}")
        return {"attempt": job.attempt}

    async def reject(self, job: Job, args: dict, report) -> Any:
        raise JobFailure("bad input", retryable=False)

    async def block(self, job: Job, args: dict, report) -> Any:
        await self.gates.setdefault(job.id, asyncio.Event()).wait()
        return {"released": True}


BEHAVIOURS = {"succeed": Behaviours.succeed, "fail_until": Behaviours.fail_until, "reject": Behaviours.reject,
              "block": Behaviours.block}


@pytest.fixture
def queue_config(config: Config) -> Config:
    return config.replace(queue_backoff_s=0.05, queue_backoff_max_s=1.0, queue_poll_s=0.05, queue_lease_s=30.0)


@pytest.fixture
def queue_name() -> str:
    return f"test-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def behaviours() -> Behaviours:
    return Behaviours()


@pytest.fixture
async def start_queue(database: Database, queue_config: Config, behaviours: Behaviours
                      ) -> AsyncIterator[Callable[..., Awaitable[JobQueue]]]:
    started: list[JobQueue] = []

    async def start(concurrency: dict[str, int], execute: Execute | None = None, **kwargs: Any) -> JobQueue:
        execute = execute or inline_executor({"analysis": behaviours.perform})
        queue = await JobQueue(database, queue_config, execute, concurrency, kinds=JOB_KINDS, **kwargs).start()
        started.append(queue)
        return queue

    yield start
    for queue in started:
        await queue.stop()


@pytest.fixture
def add_job(database: Database, make_account) -> Callable[..., Awaitable[Job]]:
    async def add(queue: str, args: dict, *, user_id: int | None = None, max_attempts: int = 3,
                  track_id: int | None = None) -> Job:
        user_id = user_id or (await make_account()).user.id
        async with database.pool.acquire() as conn:
            new = NewJob(user_id, "analysis", queue, "processing", args, track_id, max_attempts)
            job, _ = await store.insert(conn, new)
        return job

    return add


async def wait_for_state(database: Database, job_id: int, *states: str, timeout: float = 10.0) -> Job:
    async with asyncio.timeout(timeout):
        while True:
            async with database.pool.acquire() as conn:
                row = await conn.fetchrow(f"SELECT {store.RETURNING} FROM jobs WHERE id = $1", job_id)
            job = Job.from_row(row)
            if job.state in states:
                return job
            await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def running_queue(database: Database, config: Config, pools: Mapping[str, WorkerPool],
                        concurrency: dict[str, int]) -> AsyncIterator[JobQueue]:
    """The durable queue handing its jobs to real worker pools, stopped on the way out."""
    queue = await JobQueue(database, config, pool_executor(pools, JOB_KINDS), concurrency, kinds=JOB_KINDS).start()
    try:
        yield queue
    finally:
        await queue.stop()

