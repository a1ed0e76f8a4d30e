"""Starting a job on one of the caller's tracks: the shared first step of analysis and separation."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sfa.jobs import Job, JobKind, enqueue
from sfa.tracks.store import fetch_track
from sfa.web.errors import NotFound, ValidationFailed
from sfa.web.keys import CONFIG, DATABASE, PUBSUB
from sfa.web.user_events import announce_library_change


async def start_track_job(app: web.Application, user_id: int, track_id: int, kind: JobKind,
                          args: dict[str, Any]) -> Job:
    """Enqueue ``kind`` on the track, its file's path added to ``args``: 404 when the track is not the
    caller's, 422 while its audio has not arrived (a download still running)."""
    async with app[DATABASE].pool.acquire() as conn, conn.transaction():
        track = await fetch_track(conn, user_id, track_id)
        if track is None:
            raise NotFound("track not found")
        if track.path is None:
            raise ValidationFailed({"track_id": ["has no audio yet: wait for its download to complete"]})
        job, _ = await enqueue(conn, kind, user_id=user_id, track_id=track.id,
                               args={"path": track.path, **args},
                               max_attempts=app[CONFIG].queue_max_attempts)
    await announce_library_change(app[PUBSUB], user_id, track_id=track.id, job_id=job.id)
    return job
