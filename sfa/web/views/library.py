"""What the library pages read: the user's tracks with each one's latest job."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sfa.db.database import Database
from sfa.jobs.job import COLUMNS, Job
from sfa.tracks import store
from sfa.tracks.store import Track

# The newest job of each of the tracks: DISTINCT ON keeps the first row per track in this order; the ids
# come as one array parameter (= ANY), which pypika cannot spell.
SELECT_LATEST_JOBS = f"""
SELECT DISTINCT ON (track_id) {", ".join(COLUMNS)} FROM jobs
WHERE user_id = $1 AND track_id = ANY($2::bigint[])
ORDER BY track_id, id DESC
"""
PAGE_SIZE = 100


@dataclass(frozen=True, slots=True)
class Row:
    """One track on the dashboard and the state of its latest job, as the template shows it."""

    track: Track
    job: JobView | None


@dataclass(frozen=True, slots=True)
class JobView:
    id: int
    kind: str
    status: str
    progress: int
    message: str
    attempt: int
    max_attempts: int
    error: str | None

    @classmethod
    def of(cls, job: Job) -> JobView:
        return cls(job.id, job.kind, job.status, job.progress, job.message, job.attempt, job.max_attempts, job.error)

    @property
    def finished(self) -> bool:
        return self.status in ("completed", "failed", "cancelled")

    @property
    def note(self) -> str:
        """What to say beside the status: the last error while failed or waiting to retry, else the message."""
        return self.error if self.error and self.status in ("failed", "queued") else self.message

    def with_progress(self, payload: dict[str, Any]) -> JobView:
        return JobView(self.id, self.kind, str(payload.get("status", self.status)),
                       int(payload.get("progress", self.progress)), str(payload.get("message", self.message)),
                       self.attempt, self.max_attempts, self.error)


async def latest_jobs(database: Database, user_id: int, track_ids: list[int]) -> dict[int, Job]:
    async with database.pool.acquire() as conn:
        rows = await conn.fetch(SELECT_LATEST_JOBS, user_id, track_ids)
    return {row["track_id"]: Job.from_row(row) for row in rows}


async def library(database: Database, user_id: int, *, q: str | None = None) -> list[Row]:
    """The newest tracks (up to a page; those whose title or artist has ``q``), each with its latest job."""
    tracks, _ = await store.list_tracks(database, user_id, q=q, offset=0, limit=PAGE_SIZE)
    latest = await latest_jobs(database, user_id, [track.id for track in tracks])
    return [Row(track, JobView.of(latest[track.id]) if track.id in latest else None) for track in tracks]
