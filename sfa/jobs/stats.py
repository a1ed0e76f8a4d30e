"""The operators' overview of the queue (``GET /api/admin/jobs``), read without scanning the jobs table.

Counts come from ``job_counts``, the deltas that statement triggers on ``jobs`` add (sql/0007_cluster.sql),
folded now and then by :func:`fold_counts` so they stay a few rows per queue and state; the oldest waiting
job and the last minute's completions come from partial indexes. So the overview costs the same with a
hundred jobs as with millions (``bench/job_overview.py``).
"""

from __future__ import annotations

from typing import Any

from sfa.db.database import Database
from sfa.jobs.states import STATES
from sfa.jobs.store import Connection

# Correlated subqueries per (queue, state) row, each an index lookup: min(run_at) of the queue's waiting jobs
# (jobs_waiting_idx) and its completions in the last minute (jobs_completed_idx). pypika has neither HAVING
# on a windowless sum with CASE subqueries nor make_interval.
OVERVIEW = """
WITH counts AS (
    SELECT queue, state, sum(n)::bigint AS count FROM job_counts GROUP BY queue, state HAVING sum(n) <> 0
)
SELECT queue, state, count,
       CASE WHEN state = 'queued' THEN (
           SELECT extract(epoch FROM now() - min(run_at)) FROM jobs
           WHERE jobs.state = 'queued' AND jobs.queue = counts.queue AND run_at <= now()) END AS oldest_s,
       CASE WHEN state = 'completed' THEN (
           SELECT count(*) FROM jobs
           WHERE jobs.state = 'completed' AND jobs.queue = counts.queue
             AND finished_at > now() - interval '60 seconds') ELSE 0 END AS last_minute
FROM counts ORDER BY queue, state
"""
# A data-modifying CTE: the deltas read are the deltas deleted, so a fold racing another (or the triggers)
# neither loses nor doubles a count.
FOLD = """
WITH folded AS (DELETE FROM job_counts RETURNING queue, state, n)
INSERT INTO job_counts (queue, state, n)
SELECT queue, state, sum(n) FROM folded GROUP BY queue, state HAVING sum(n) <> 0
"""


async def overview(database: Database) -> dict[str, Any]:
    """Per queue: jobs per state, how long the oldest due job has waited, jobs completed in the last minute."""
    async with database.pool.acquire() as conn:
        rows = await conn.fetch(OVERVIEW)
    queues: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = queues.setdefault(row["queue"], {"counts": dict.fromkeys(STATES, 0), "oldest_waiting_s": None,
                                                 "completed_last_minute": 0})
        entry["counts"][row["state"]] = row["count"]
        if row["oldest_s"] is not None:
            entry["oldest_waiting_s"] = round(float(row["oldest_s"]), 3)
        entry["completed_last_minute"] += row["last_minute"]
    return {"queues": queues,
            "totals": {state: sum(q["counts"][state] for q in queues.values()) for state in STATES},
            "completed_last_minute": sum(q["completed_last_minute"] for q in queues.values())}


async def fold_counts(conn: Connection) -> None:
    """Fold the count deltas into one row per queue and state."""
    await conn.execute(FOLD)
