"""The operators' overview of the queue (``GET /api/admin/jobs``)."""

from __future__ import annotations

from typing import Any

from sfa.db.database import Database
from sfa.jobs.states import STATES

# Aggregates with FILTER clauses over the whole table in one pass: pypika has no FILTER.
OVERVIEW = """
SELECT queue, state, count(*) AS count,
       extract(epoch FROM now() - min(run_at) FILTER (WHERE state = 'queued' AND run_at <= now())) AS oldest_s,
       count(*) FILTER (WHERE state = 'completed' AND finished_at > now() - interval '60 seconds') AS last_minute
FROM jobs GROUP BY queue, state ORDER BY queue, state
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
