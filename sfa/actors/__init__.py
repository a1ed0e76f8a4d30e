"""Actors: Thespian JobWorker/GpuWorker processes behind worker pools, in-loop actors for user presences.

What the job queue calls: ``await tree.pools[queue].run(RunJob(...), on_progress=...)`` (or
``tree.gpu.run``) returns the performer's result, raises :class:`JobError` when it failed and
:class:`WorkerCrashed` when its worker died mid-job.
"""

from sfa.actors.inloop import ActorCrashed, InLoopActor
from sfa.actors.messages import JobDone, JobFailed, JobProgress, RunJob
from sfa.actors.performers import JobContext, PermanentError
from sfa.actors.pool import WorkerPool
from sfa.actors.presence import PresenceSupervisor, UserPresence
from sfa.actors.tree import ActorTree
from sfa.actors.worker_process import JobError, WorkerCrashed

__all__ = [
           "ActorCrashed",
           "ActorTree",
           "InLoopActor",
           "JobContext",
           "JobDone",
           "JobError",
           "JobFailed",
           "JobProgress",
           "PermanentError",
           "PresenceSupervisor",
           "RunJob",
           "UserPresence",
           "WorkerCrashed",
           "WorkerPool",
]
