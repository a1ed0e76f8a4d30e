"""The admin queue overview (``GET /api/admin/jobs``) on a jobs table of 1,000,000 rows, beside the same
answer computed by scanning the table (the overview before it read ``job_counts``). Target: under 50 ms.

The rows look like a busy server's week: mostly completed jobs finished over the past days, some failed and
cancelled, a few thousand waiting and running, on three queues. Also times one pruning round that deletes
the oldest tenth (the retention set to keep the rest), prints the overview's plan, which must not scan
``jobs``, and what the counting triggers add to the queue's writes (a one-row progress update, a 1,000-row
state change), with the triggers on and off in turn.

Run: .venv/bin/python -m bench.job_overview [ROWS]. DATABASE_URL picks the PostgreSQL server (a fresh
database is created and dropped on it); unset, an embedded one is started.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
import uuid

from bench.database import fresh_database
from sfa.accounts import create_user
from sfa.config import Config
from sfa.db import Database
from sfa.jobs.maintenance import Maintenance
from sfa.jobs.stats import OVERVIEW, fold_counts, overview

TARGET_MS = 50.0
RUNS = 30
PRUNED_SHARE = 0.1

# One statement: row n's queue, state and age follow from n. Finished rows end over the past 7 days, the
# oldest first, so a retention can cut off an exact number of them.
FILL = """
INSERT INTO jobs (user_id, kind, queue, args, state, attempt, finished_at, inserted_at, run_at)
SELECT $1, q.name, q.name, jsonb_build_object('n', n), s.state, 1,
       CASE WHEN s.state IN ('completed', 'failed', 'cancelled')
            THEN now() - make_interval(secs => 604800.0 * ($2 - n) / $2) END,
       now() - interval '8 days', now() - make_interval(secs => n % 600)
FROM generate_series(1, $2) AS n
CROSS JOIN LATERAL (SELECT (ARRAY['download', 'processing', 'analysis'])[1 + n % 3] AS name) AS q
CROSS JOIN LATERAL (SELECT CASE WHEN n > $2 - 4000 THEN 'queued' WHEN n > $2 - 5000 THEN 'running'
                                WHEN n % 100 = 0 THEN 'failed' WHEN n % 200 = 1 THEN 'cancelled'
                                ELSE 'completed' END AS state) AS s
"""
# The overview as it was: every row read on every call.
SCAN = """
SELECT queue, state, count(*) AS count,
       extract(epoch FROM now() - min(run_at) FILTER (WHERE state = 'queued' AND run_at <= now())) AS oldest_s,
       count(*) FILTER (WHERE state = 'completed' AND finished_at > now() - interval '60 seconds') AS last_minute
FROM jobs GROUP BY queue, state ORDER BY queue, state
"""


async def timed_ms(work, runs: int = RUNS) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        await work()
        times.append((time.perf_counter() - started) * 1000)
    return sorted(times)


async def write_costs(conn) -> None:
    ids = [row["id"] for row in await conn.fetch("SELECT id FROM jobs WHERE state = 'queued' LIMIT 1000")]
    for switch in ("ENABLE", "DISABLE", "ENABLE", "DISABLE"):
        await conn.execute(f"ALTER TABLE jobs {switch} TRIGGER USER")
        single = await timed_ms(lambda: conn.execute(
            "UPDATE jobs SET progress = 5, message = 'x' WHERE id = $1", ids[0]), runs=500)
        states = iter(["running", "queued"] * 10)
        batch = await timed_ms(lambda states=states: conn.execute(
            "UPDATE jobs SET state = $1 WHERE id = ANY($2::bigint[])", next(states), ids), runs=20)
        print(f"triggers {switch.lower()[:-1]}ed: one-row progress update p50 {statistics.median(single):.3f} ms, "
              f"1,000-row state change p50 {statistics.median(batch):.1f} ms")
    await conn.execute("ALTER TABLE jobs ENABLE TRIGGER USER")


async def run(rows: int) -> int:
    async with fresh_database("bench_overview") as url:
        database = await Database(url, max_size=2).connect()
        user = await create_user(database, f"bench-{uuid.uuid4().hex[:6]}@example.com", "bench-password-1")
        started = time.perf_counter()
        async with database.pool.acquire() as conn:
            await conn.execute(FILL, user.id, rows)
            await fold_counts(conn)
            await conn.execute("VACUUM ANALYZE jobs")
        print(f"filled {rows:,} jobs in {time.perf_counter() - started:.1f}s")

        fast = await timed_ms(lambda: overview(database))
        slow = await timed_ms(lambda: database.pool.fetch(SCAN), runs=5)
        answer = await overview(database)
        assert sum(answer["totals"].values()) == rows, answer["totals"]
        plan = [row[0] for row in await database.pool.fetch(f"EXPLAIN {OVERVIEW}")]
        scans = [line.strip() for line in plan if "Scan" in line]
        p50, p99 = statistics.median(fast), fast[min(len(fast) - 1, round(0.99 * len(fast)))]
        print(f"overview (job_counts + partial indexes): p50 {p50:.2f} ms, p99 {p99:.2f} ms over {RUNS} calls")
        print(f"overview by table scan (the anchor): p50 {statistics.median(slow):.1f} ms over 5 calls")
        print("plan scans: " + "; ".join(scans))
        print(f"speed-up {statistics.median(slow) / p50:.0f}x; target p99 under {TARGET_MS:g} ms: "
              f"{'met' if p99 < TARGET_MS else 'MISSED'}")

        # The retention keeps all but the oldest tenth of the rows (which finished over 6.3 days ago).
        config = Config.from_env({"SFA_QUEUE_RETENTION_S": str(604800 * (1 - PRUNED_SHARE))})
        started = time.perf_counter()
        pruned = await Maintenance(database, config).round()
        elapsed = time.perf_counter() - started
        print(f"pruning round: {pruned:,} jobs in {elapsed:.2f}s ({pruned / elapsed:,.0f} rows/s); "
              f"overview after: p50 {statistics.median(await timed_ms(lambda: overview(database))):.2f} ms")
        async with database.pool.acquire() as conn:
            await write_costs(conn)
        await database.close()
        return 0 if p99 < TARGET_MS and pruned >= rows * PRUNED_SHARE * 0.9 else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(run(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)))
