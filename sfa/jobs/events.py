"""What a job's subscribers hear on ``jobs:<id>`` after each transition, from one table keyed by state."""

from __future__ import annotations

from sfa.jobs.job import Job
from sfa.jobs.states import CANCELLED, COMPLETED, FAILED, QUEUED, RUNNING
from sfa.pubsub import Broadcast, job_completed, job_failed, job_progress


def _started(job: Job) -> Broadcast:
    return job_progress(job.id, status=job.status, progress=job.progress,
                        message=f"attempt {job.attempt} of {job.max_attempts} started")


def _requeued(job: Job) -> Broadcast:
    return job_progress(job.id, status=job.status, progress=0, message=job.message)


def _completed(job: Job) -> Broadcast:
    return job_completed(job.id, job_type=job.kind, track_id=job.track_id, result=job.result)


def _failed(job: Job) -> Broadcast:
    return job_failed(job.id, job_type=job.kind, error=job.error or "failed")


def _cancelled(job: Job) -> Broadcast:
    return job_progress(job.id, status=job.status, progress=job.progress, message="cancelled")


AFTER = {RUNNING: _started, QUEUED: _requeued, COMPLETED: _completed, FAILED: _failed, CANCELLED: _cancelled}


def event_for(job: Job) -> Broadcast:
    """The broadcast announcing that ``job`` just entered its current state."""
    return AFTER[job.state](job)


def progressed(job: Job, percent: int, message: str) -> Broadcast:
    return job_progress(job.id, status=job.status, progress=percent, message=message)


