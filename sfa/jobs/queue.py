"""``JobQueue``: one node's side of the durable queue — a claim loop per queue, outcomes, leases, rescue.

Each job runs as a short pipeline over its row: claim (``running``, attempt + 1) → prepare its arguments
→ perform (the executor) → record the outcome: a result completes the job (and its kind records it), a
failure retries it while attempts are left and retrying can help, else fails it (``_after_failure``). Every
transition and progress step is written and announced on ``jobs:<id>`` in one transaction, so a NOTIFY
is only ever sent for a state that is committed. Queues wake on a NOTIFY at enqueue, when a slot frees,
or every ``SFA_QUEUE_POLL_S`` (a retry coming due). Outcomes are written in batches, which is what lets
one node complete thousands of short jobs a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg

from sfa.actors.performers import failure_message
from sfa.config import Config
from sfa.db.database import Database
from sfa.jobs import events, store
from sfa.jobs.backoff import retry_delay
from sfa.jobs.executors import Execute, JobFailure
from sfa.jobs.job import Job
from sfa.jobs.kinds import JobKinds
from sfa.pubsub import notify, notify_many
from sfa.tracks.files import remove_job_temps

log = logging.getLogger(__name__)

RECONNECT_MAX_S = 5.0
# How long a woken loop waits for more of the same (slots freeing, outcomes arriving) before one round
# trip handles them all: nothing next to a job's own run time, and it turns thousands of tiny
# transactions into a few large ones when jobs are short.
COALESCE_S = 0.002


@dataclass(frozen=True, slots=True)
class Done:
    job: Job
    result: Any


@dataclass(frozen=True, slots=True)
class Failed:
    job: Job
    error: str
    retryable: bool


class JobQueue:
    def __init__(self, database: Database, config: Config, execute: Execute, concurrency: Mapping[str, int], *,
                 kinds: JobKinds | None = None, node: str | None = None) -> None:
        """``concurrency``: queue name -> how many of its jobs this node runs at once (the server's is
        ``kinds.queues(config)``). ``kinds`` prepare and record their jobs; a job of a kind not among them
        gets its own arguments and leaves nothing to record."""
        self.database = database
        self.config = config
        self.execute = execute
        self.kinds = kinds if kinds is not None else JobKinds()
        self.concurrency = dict(concurrency)
        self.node = node or f"{socket.gethostname()}/{os.getpid()}/{secrets.token_hex(4)}"
        self._wakes = {queue: asyncio.Event() for queue in self.concurrency}
        self._running: dict[str, dict[int, asyncio.Task]] = {queue: {} for queue in self.concurrency}
        self._outcomes: list[Done | Failed] = []
        self._outcome_added = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._listener: asyncpg.Connection | None = None
        self._stopping = False

    async def start(self) -> JobQueue:
        await self._listen()
        self._tasks = [asyncio.create_task(self._claim_loop(queue, limit), name=f"jobs:{queue}")
                       for queue, limit in self.concurrency.items()]
        self._tasks.append(asyncio.create_task(self._record_loop(), name="jobs:outcomes"))
        self._tasks.append(asyncio.create_task(self._lease_loop(), name="jobs:leases"))
        log.info("job queue %s up: %s", self.node, ", ".join(f"{q}={n}" for q, n in self.concurrency.items()))
        return self

    async def stop(self) -> None:
        """Stop claiming, put the jobs still running back in the queue (no attempt spent), write outcomes."""
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        unfinished = {job_id: task for jobs in self._running.values() for job_id, task in jobs.items()}
        for task in unfinished.values():
            task.cancel()
        await asyncio.gather(*unfinished.values(), return_exceptions=True)
        async with self.database.pool.acquire() as conn, conn.transaction():
            await self._record(conn, self._take_outcomes())
            released = await store.release(conn, self.node, list(unfinished))
            await notify_many(conn, [events.event_for(job) for job in released])
        if self._listener is not None:
            await self._listener.close()

    def running(self, queue: str) -> int:
        return len(self._running[queue])

    # -- waking -------------------------------------------------------------------------------------------

    async def _listen(self) -> None:
        conn = await asyncpg.connect(self.database.url)
        conn.add_termination_listener(self._on_lost)
        await conn.add_listener(store.WAKE_CHANNEL, self._on_notify)
        self._listener = conn

    def _on_notify(self, conn: asyncpg.Connection, pid: int, channel: str, queue: str) -> None:
        if queue in self._wakes:
            self._wakes[queue].set()

    def _on_lost(self, conn: asyncpg.Connection) -> None:
        if not self._stopping:
            log.warning("job queue: lost the LISTEN connection; polling until it is back")
            self._tasks.append(asyncio.create_task(self._relisten()))

    async def _relisten(self) -> None:
        delay = 0.1
        while not self._stopping:
            try:
                await self._listen()
                return
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("job queue: LISTEN reconnect failed (%s); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX_S)

    # -- claim → perform ----------------------------------------------------------------------------------

    async def _claim_loop(self, queue: str, limit: int) -> None:
        wake, running = self._wakes[queue], self._running[queue]
        while True:
            wake.clear()
            if (free := limit - len(running)) > 0:
                try:
                    claimed = await self._claim(queue, free)
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                    log.warning("job queue %s: claim failed (%s)", queue, exc)
                    claimed = []
                for job in claimed:
                    task = asyncio.create_task(self._perform(job), name=f"job:{job.id}")
                    running[job.id] = task
                    task.add_done_callback(lambda _, job=job: self._slot_freed(job))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), self.config.queue_poll_s)
            await asyncio.sleep(COALESCE_S)

    async def _claim(self, queue: str, free: int) -> list[Job]:
        async with self.database.pool.acquire() as conn, conn.transaction():
            claimed = await store.claim(conn, queue, free, self.node)
            await notify_many(conn, [events.event_for(job) for job in claimed])
        return claimed

    def _slot_freed(self, job: Job) -> None:
        self._running[job.queue].pop(job.id, None)
        self._wakes[job.queue].set()

    async def _perform(self, job: Job) -> None:
        started = time.monotonic()
        try:
            kind = self.kinds.get(job.kind)
            args = job.args if kind is None else kind.prepare(job, self.config)
            outcome: Done | Failed = Done(job, await self.execute(job, args, self._reporter(job)))
        except JobFailure as exc:
            outcome = Failed(job, exc.error, exc.retryable)
        except Exception as exc:
            log.exception("job %s (%s): the executor raised", job.id, job.kind)
            outcome = Failed(job, failure_message(exc), True)
        log.debug("job %s (%s, attempt %d) %s in %.3fs", job.id, job.kind, job.attempt,
                  type(outcome).__name__.lower(), time.monotonic() - started)
        self._outcomes.append(outcome)
        self._outcome_added.set()

    def _reporter(self, job: Job):
        async def report(fraction: float, message: str = "") -> None:
            percent = max(0, min(100, round(fraction * 100)))
            async with self.database.pool.acquire() as conn, conn.transaction():
                if await store.progress(conn, job, percent, message):
                    await notify(conn, events.progressed(job, percent, message))

        return report

    # -- outcomes -----------------------------------------------------------------------------------------

    def _take_outcomes(self) -> list[Done | Failed]:
        taken, self._outcomes = self._outcomes, []
        self._outcome_added.clear()
        return taken

    async def _record_loop(self) -> None:
        while True:
            await self._outcome_added.wait()
            await asyncio.sleep(COALESCE_S)
            batch = self._take_outcomes()
            try:
                async with self.database.pool.acquire() as conn, conn.transaction():
                    await self._record(conn, batch)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                log.exception("job queue: could not record %d outcomes; their leases will expire and they "
                              "will run again", len(batch))

    async def _record(self, conn: Any, batch: list[Done | Failed]) -> None:
        done = [(o.job, o.result) for o in batch if isinstance(o, Done)]
        finished = await store.complete_many(conn, done) if done else []
        for job in finished:
            if (kind := self.kinds.get(job.kind)) is not None:
                await kind.record(conn, job, self.config)
        for outcome in batch:
            if isinstance(outcome, Failed):
                moved = await self._after_failure(conn, outcome.job, outcome.error, outcome.retryable)
                finished.extend(moved)
        await notify_many(conn, [events.event_for(job) for job in finished])

    async def _after_failure(self, conn: Any, job: Job, error: str, retryable: bool) -> list[Job]:
        """Retry after a backoff while attempts are left and retrying can help; else fail for good."""
        if retryable and job.attempt < job.max_attempts:
            delay = retry_delay(job.attempt, base_s=self.config.queue_backoff_s,
                                max_s=self.config.queue_backoff_max_s)
            moved = await store.retry(conn, job, delay_s=delay, error=error)
        else:
            moved = await store.fail(conn, job, error=error)
        return [] if moved is None else [moved]

    # -- leases -------------------------------------------------------------------------------------------

    async def _lease_loop(self) -> None:
        """Renew this node's leases and rescue jobs whose node stopped renewing theirs."""
        while True:
            try:
                async with self.database.pool.acquire() as conn:
                    await store.heartbeat(conn, self.node)
                    await self.rescue(conn)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("job queue: lease round failed (%s)", exc)
            await asyncio.sleep(self.config.queue_lease_s / 3)

    async def rescue(self, conn: Any) -> list[Job]:
        """Jobs whose lease expired count a failed attempt and go back to the queue (or fail)."""
        async with conn.transaction():
            moved = []
            for job in await store.expired(conn, self.config.queue_lease_s):
                error = f"its node {job.node} stopped (no heartbeat for {self.config.queue_lease_s:g}s)"
                log.warning("job %s (%s): rescued: %s", job.id, job.kind, error)
                # What the dead attempt was writing is half a file; the next attempt starts afresh.
                remove_job_temps(self.config.data_dir, job.id)
                moved.extend(await self._after_failure(conn, job, error, True))
            await notify_many(conn, [events.event_for(job) for job in moved])
        return moved
