"""No-op jobs per second through the job queue on one node (enqueue + run + complete), beside a bare
pgqueuer loop on the same PostgreSQL server. Target: >= 5,000 jobs/s for ``sfa.jobs``.

The no-op jobs run in the event loop (``inline_executor``): this measures the queue (claiming, leases,
outcomes, the ``jobs:<id>`` events), not the worker processes behind it. Each side gets a fresh database.
Run: .venv/bin/python -m bench.queue [JOBS]   (as a module: run as a script, this file would shadow the
stdlib `queue`). DATABASE_URL, if set, picks the PostgreSQL server; else an embedded one is started.
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from datetime import timedelta

import asyncpg
from pgqueuer import AsyncpgDriver, Queries, QueueManager
from pgqueuer.types import QueueExecutionMode

from bench.database import fresh_database
from sfa.accounts import create_user
from sfa.config import Config
from sfa.db import Database
from sfa.jobs import JobQueue, inline_executor, store

TARGET_PER_S = 5000
BATCH = 1000
SLOTS = 1000
QUEUE = "bench"


async def noop(job, args, report) -> None:
    return None


async def sfa_jobs_per_s(url: str, count: int) -> float:
    database = await Database(url, max_size=10).connect()
    config = Config.from_env({"DATABASE_URL": url, "SFA_QUEUE_POLL_S": "0.05"})
    user = await create_user(database, f"bench-{uuid.uuid4().hex[:6]}@example.com", "bench-password-1")
    batches = [[(user.id, None, "analysis", QUEUE, "processing", f'{{"n":{n}}}', 3, 0)
                for n in range(i, min(i + BATCH, count))] for i in range(0, count, BATCH)]
    queue = JobQueue(database, config, inline_executor({"analysis": noop}), {QUEUE: SLOTS})
    started = time.perf_counter()
    await queue.start()
    for batch in batches:
        async with database.pool.acquire() as conn, conn.transaction():
            await conn.executemany(store.INSERT, batch)
            await conn.execute(store.WAKE, store.WAKE_CHANNEL, QUEUE)
    while await database.pool.fetchval("SELECT count(*) FROM jobs WHERE state = 'completed'") < count:
        await asyncio.sleep(0.01)
    elapsed = time.perf_counter() - started
    await queue.stop()
    await database.close()
    return count / elapsed


async def pgqueuer_jobs_per_s(url: str, count: int) -> float:
    conn = await asyncpg.connect(url)
    driver = AsyncpgDriver(conn)
    queries = Queries(driver)
    await queries.install()
    manager = QueueManager(queries)
    manager.entrypoint("noop")(noop_pgq)
    enqueuer = await asyncpg.connect(url)
    enqueue = Queries(AsyncpgDriver(enqueuer))
    started = time.perf_counter()
    runner = asyncio.create_task(manager.run(batch_size=SLOTS, mode=QueueExecutionMode.drain,
                                             dequeue_timeout=timedelta(seconds=1)))
    for i in range(0, count, BATCH):
        size = min(BATCH, count - i)
        await enqueue.enqueue(["noop"] * size, [None] * size, [0] * size)
    await runner
    elapsed = time.perf_counter() - started
    await enqueuer.close()
    await conn.close()
    return count / elapsed


async def noop_pgq(job) -> None:
    return None


async def main(count: int) -> None:
    async with fresh_database("bench_sfa") as url:
        ours = await sfa_jobs_per_s(url, count)
    async with fresh_database("bench_pgq") as url:
        theirs = await pgqueuer_jobs_per_s(url, count)
    print(f"{count} no-op jobs, enqueue + run + complete, one node")
    print(f"  sfa.jobs   {ours:8.0f} jobs/s  (target >= {TARGET_PER_S}: {'met' if ours >= TARGET_PER_S else 'MISSED'})")
    print(f"  pgqueuer   {theirs:8.0f} jobs/s  (bare loop, same server)")
    print(f"  ratio      {ours / theirs:8.2f}x")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 20000))
