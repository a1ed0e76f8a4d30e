"""``WorkerProcess``: the event loop's handle on one ``JobWorker`` or ``GpuWorker`` process.

It is what a worker pool's supervisor supervises: ``done`` resolves when the nursery reports the process
gone, and a job running there at that moment fails with :class:`WorkerCrashed`, so the queue can run it
again (attempt + 1) on another worker. A worker runs up to ``slots`` jobs at once (one, except on a GPU).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from thespian.actors import ActorAddress, ActorExitRequest

from sfa.actors.messages import CancelJob, Exited, JobDone, JobFailed, JobProgress, Ready, RunJob, SpawnFailed
from sfa.actors.system import ActorSystemBridge
from sfa.supervisors import SHUTDOWN, Exit, crashed

log = logging.getLogger(__name__)

SPAWN_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0

ProgressCallback = Callable[[JobProgress], Awaitable[None] | None]


class WorkerCrashed(RuntimeError):
    """The worker's process died while it ran the job; the job itself may be fine: run it again."""

    def __init__(self, job_id: int, worker: str, pid: int | None) -> None:
        super().__init__(f"worker {worker} (pid {pid}) died while running job {job_id}")
        self.job_id, self.worker, self.pid = job_id, worker, pid


class JobError(RuntimeError):
    """The performer raised; ``retryable`` is false when it said retrying cannot help."""

    def __init__(self, job_id: int, error: str, retryable: bool) -> None:
        super().__init__(f"job {job_id} failed: {error}")
        self.job_id, self.error, self.retryable = job_id, error, retryable


class WorkerProcess:
    def __init__(self, bridge: ActorSystemBridge, name: str, *, worker_type: str, actor_class: str, device: str,
                 performers: Mapping[str, str], slots: int = 1) -> None:
        self.bridge = bridge
        self.name = name
        self.type = worker_type
        self.actor_class = actor_class
        self.device = device
        self.performers = performers
        self.slots = slots
        self.pid: int | None = None
        self.address: ActorAddress | None = None
        self.started_at = time.monotonic()
        loop = asyncio.get_running_loop()
        self.done: asyncio.Future[Exit] = loop.create_future()
        self._ready: asyncio.Future[Ready] = loop.create_future()
        self._ref: int | None = None
        self._jobs: dict[int, asyncio.Queue[Any]] = {}
        self._stopping = False
        self._killed = False
        self._failed_on_bug: int | None = None

    async def start(self) -> WorkerProcess:
        self._ref = await self.bridge.spawn(self.actor_class, self.device, self.performers, self._receive)
        try:
            ready = await asyncio.wait_for(self._ready, SPAWN_TIMEOUT_S)
        except BaseException:
            self.bridge.forget(self._ref)
            raise
        self.pid, self.address = ready.pid, ready.address
        self.started_at = time.monotonic()
        return self

    @property
    def alive(self) -> bool:
        return self.address is not None and not (self.done.done() or self._killed or self._failed_on_bug is not None)

    @property
    def busy(self) -> bool:
        return bool(self._jobs)

    async def perform(self, job: RunJob, on_progress: ProgressCallback | None = None) -> Any:
        """Run ``job`` here and return its result; raise :class:`JobError` or :class:`WorkerCrashed`."""
        if len(self._jobs) >= self.slots or job.job_id in self._jobs or not self.alive:
            raise RuntimeError(f"worker {self.name} cannot take job {job.job_id}: it is busy or gone")
        inbox = self._jobs[job.job_id] = asyncio.Queue()
        try:
            await self.bridge.tell(self.address, job)
            while True:
                match await inbox.get():
                    case JobProgress() as progress:
                        if on_progress is not None and (pending := on_progress(progress)) is not None:
                            await pending
                    case JobDone(result=result):
                        return result
                    case JobFailed(error=error, retryable=retryable):
                        raise JobError(job.job_id, error, retryable)
                    case Exited():
                        raise WorkerCrashed(job.job_id, self.name, self.pid)
        finally:
            del self._jobs[job.job_id]

    async def cancel(self, job_id: int) -> None:
        """Ask the worker to stop ``job_id`` at its next check, leaving its other jobs running."""
        if self.alive:
            await self.bridge.tell(self.address, CancelJob(job_id))

    async def stop(self) -> None:
        """Ask the actor to exit; SIGKILL its process if it has not within ``STOP_TIMEOUT_S``."""
        if self.done.done():
            return
        self._stopping = True
        if self.address is not None:
            await self.bridge.tell(self.address, ActorExitRequest())
        try:
            await asyncio.wait_for(asyncio.shield(self.done), STOP_TIMEOUT_S)
        except TimeoutError:
            log.warning("worker %s (pid %s) ignored the exit request; killing it", self.name, self.pid)
            self.kill()
            await self.done

    def kill(self) -> None:
        self._killed = True
        if self.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)

    def status(self) -> dict[str, Any]:
        state = "stopping" if self._stopping or self._failed_on_bug is not None else "busy" if self._jobs else "idle"
        return {"type": self.type, "pid": self.pid, "state": state, "device": self.device,
                "mailbox_depth": sum(inbox.qsize() + 1 for inbox in self._jobs.values()),
                "current_job": next(iter(self._jobs), None), "current_jobs": list(self._jobs),
                "uptime_s": round(time.monotonic() - self.started_at, 3)}

    def _receive(self, message: Any) -> None:
        if isinstance(message, JobFailed) and message.exiting:
            self._failed_on_bug = message.job_id
        match message:
            case Ready():
                self._ready.set_result(message)
            case SpawnFailed(error=error):
                self._ready.set_exception(RuntimeError(f"could not start {self.actor_class}: {error}"))
            case Exited():
                self._exited()
            case JobProgress() | JobDone() | JobFailed() if message.job_id in self._jobs:
                self._jobs[message.job_id].put_nowait(message)
            case _:
                log.warning("worker %s dropped %r", self.name, message)

    def _exited(self) -> None:
        self.bridge.forget(self._ref)
        for inbox in self._jobs.values():
            inbox.put_nowait(Exited())
        if not self._ready.done():
            self._ready.set_exception(RuntimeError(f"{self.actor_class} exited while starting"))
        if self._stopping:
            exit = SHUTDOWN
        elif self._failed_on_bug is not None:
            exit = crashed(f"process {self.pid} exited after job {self._failed_on_bug} failed on a bug")
        else:
            exit = crashed(f"process {self.pid} exited")
        if not self.done.done():
            self.done.set_result(exit)
