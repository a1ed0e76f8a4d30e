"""The broadcasts a job emits on ``jobs:<job_id>``, shaped as the contract's channel events.

Publish them with ``await pubsub.publish(job_progress(...))`` in the server, or
``await sfa.pubsub.notify(conn, job_progress(...))`` from any process holding a database connection.
"""

from __future__ import annotations

from typing import Any

from sfa.pubsub.broadcast import Broadcast


def job_topic(job_id: int) -> str:
    return f"jobs:{job_id}"


def job_progress(job_id: int, *, status: str, progress: int, message: str = "") -> Broadcast:
    if not 0 <= progress <= 100:
        raise ValueError(f"progress must be 0..100, not {progress}")
    payload = {"job_id": job_id, "status": status, "progress": progress, "message": message}
    return Broadcast(job_topic(job_id), "job:progress", payload)


def job_completed(job_id: int, *, job_type: str, track_id: int | None, result: Any) -> Broadcast:
    payload = {"job_id": job_id, "job_type": job_type, "track_id": track_id, "result": result}
    return Broadcast(job_topic(job_id), "job:completed", payload)


def job_failed(job_id: int, *, job_type: str, error: str) -> Broadcast:
    payload = {"job_id": job_id, "job_type": job_type, "error": error}
    return Broadcast(job_topic(job_id), "job:failed", payload)

