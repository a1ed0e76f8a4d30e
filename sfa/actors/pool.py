"""``WorkerPool``: worker processes for one queue behind one ``run()``, supervised ``one_for_one``.

The pool object is stable for the server's life; what its parent supervisor restarts is the pool's
supervisor and the workers below it, which join the pool's idle line as they start. Callers wait in
line (FIFO) for an idle worker, so work queued for a pool survives its workers being killed and
restarted: it simply goes to the next worker that comes up. A worker with ``slots`` > 1 (the GPU's) stands
in that line once per free slot, and runs that many jobs at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from sfa.actors.messages import RunJob
from sfa.actors.system import ActorSystemBridge
from sfa.actors.worker_process import ProgressCallback, WorkerProcess
from sfa.supervisors import ChildSpec, Intensity, Strategy, Supervisor
from sfa.supervisors.supervisor import DEFAULT_INTENSITY

log = logging.getLogger(__name__)


class PoolSupervisor(Supervisor):
    type = "worker_pool"

    def __init__(self, pool: WorkerPool, children: Sequence[ChildSpec], intensity: Intensity) -> None:
        super().__init__(pool.name, children, strategy=Strategy.ONE_FOR_ONE, intensity=intensity)
        self.pool = pool

    def mailbox_depth(self) -> int:
        return self.pool.waiting


class WorkerPool:
    def __init__(self, name: str, bridge: ActorSystemBridge, *, devices: Sequence[str], actor_class: str,
                 worker_type: str, performers: Mapping[str, str], intensity: Intensity = DEFAULT_INTENSITY,
                 slots: int = 1) -> None:
        """One worker per entry of ``devices`` (``"cpu"`` for each CPU worker, ``"cuda:N"`` for a GPU), each
        running up to ``slots`` jobs at once."""
        self.name = name
        self.bridge = bridge
        self.devices = tuple(devices)
        self.actor_class = actor_class
        self.worker_type = worker_type
        self.performers = performers
        self.intensity = intensity
        self.slots = slots
        self.waiting = 0
        self._idle: asyncio.Queue[WorkerProcess] = asyncio.Queue()

    def spec(self) -> ChildSpec:
        return ChildSpec(self.name, self._start_supervisor, type=PoolSupervisor.type)

    async def run(self, job: RunJob, *, on_progress: ProgressCallback | None = None) -> Any:
        """Run ``job`` on the next idle worker and return its result.

        Raises :class:`~sfa.actors.worker_process.JobError` when the performer raised, and
        :class:`~sfa.actors.worker_process.WorkerCrashed` when the worker's process died mid-job (the
        supervisor is already starting its replacement). Cancelling a running job stops its worker,
        since a thread cannot be interrupted; the supervisor starts a fresh one. A worker running several
        jobs is asked to stop that one job instead, at its next ``JobContext.cancelled`` check.
        """
        worker = await self._checkout()
        try:
            return await worker.perform(job, on_progress)
        except asyncio.CancelledError:
            if worker.slots > 1:
                log.info("job %s cancelled on %s; asking it to stop", job.job_id, worker.name)
                await asyncio.shield(worker.cancel(job.job_id))
            else:
                log.info("job %s cancelled on %s; killing the worker", job.job_id, worker.name)
                worker.kill()
            raise
        finally:
            self._checkin(worker)

    async def _checkout(self) -> WorkerProcess:
        self.waiting += 1
        try:
            while not (worker := await self._idle.get()).alive:
                pass
            return worker
        finally:
            self.waiting -= 1

    def _checkin(self, worker: WorkerProcess) -> None:
        if worker.alive:
            self._idle.put_nowait(worker)

    async def _start_supervisor(self) -> PoolSupervisor:
        children = [ChildSpec(f"{self.name}-{number}", self._starter(f"{self.name}-{number}", device),
                              type=self.worker_type)
                    for number, device in enumerate(self.devices, start=1)]
        return await PoolSupervisor(self, children, self.intensity).start()

    def _starter(self, name: str, device: str):
        async def start() -> WorkerProcess:
            worker = await WorkerProcess(self.bridge, name, worker_type=self.worker_type, actor_class=self.actor_class,
                                         device=device, performers=self.performers, slots=self.slots).start()
            for _ in range(self.slots):
                self._idle.put_nowait(worker)
            return worker

        return start
