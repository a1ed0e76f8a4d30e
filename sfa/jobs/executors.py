"""The "perform" step of the pipeline: how a claimed job is run, behind one signature.

``pool_executor`` is the server's: it hands the job to the worker pool of its queue in the supervision
tree (a separate OS process) and turns the pool's failures into :class:`JobFailure`. ``inline_executor``
runs coroutine functions in the event loop; it is for work that only waits (the queue benchmark's no-op
jobs), never for CPU work.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from sfa.actors import JobError, JobProgress, RunJob, WorkerCrashed, WorkerPool
from sfa.jobs.job import Job
from sfa.jobs.kinds import JobKinds

Report = Callable[[float, str], Awaitable[None]]
Execute = Callable[[Job, Mapping[str, Any], Report], Awaitable[Any]]
InlinePerformer = Callable[[Job, Mapping[str, Any], Report], Awaitable[Any]]


class JobFailure(Exception):
    """The attempt failed; ``retryable`` is false when running it again cannot help."""

    def __init__(self, error: str, *, retryable: bool = True) -> None:
        super().__init__(error)
        self.error = error
        self.retryable = retryable


def pool_executor(pools: Mapping[str, WorkerPool], kinds: JobKinds) -> Execute:
    """Run each job on the pool its kind names (its queue's by default); a crashed worker is a retryable
    failure."""

    async def execute(job: Job, args: Mapping[str, Any], report: Report) -> Any:
        def on_progress(update: JobProgress) -> Awaitable[None]:
            return report(update.progress, update.message)

        kind = kinds.get(job.kind)
        pool = pools[job.queue if kind is None else kind.pool(job)]
        try:
            return await pool.run(RunJob(job.id, job.kind, job.attempt, dict(args)), on_progress=on_progress)
        except JobError as exc:
            raise JobFailure(exc.error, retryable=exc.retryable) from None
        except WorkerCrashed as exc:
            raise JobFailure(str(exc)) from None

    return execute


def inline_executor(performers: Mapping[str, InlinePerformer]) -> Execute:
    async def execute(job: Job, args: Mapping[str, Any], report: Report) -> Any:
        performer = performers.get(job.kind)
        if performer is None:
            raise JobFailure(f"no performer for job kind {job.kind!r}", retryable=False)
        return await performer(job, args, report)

    return execute
