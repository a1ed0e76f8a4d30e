"""``ActorTree``: the application's supervision tree, as the server starts and stops it.

```
root (one_for_one)
├─ download     worker_pool: one per queue of the server's job kinds, as many JobWorker processes as
├─ processing   worker_pool  the queue's setting says (SFA_WORKERS_DOWNLOAD, _PROCESSING, _ANALYSIS)
├─ analysis     worker_pool
├─ gpu          worker_pool: one GpuWorker per GPU, or one on the CPU without any; each runs up to
│               SFA_WORKERS_PROCESSING jobs at once (stem separation batches them on the device)
└─ presences   UserPresence actors in the event loop, one per user with sockets on this node
```
Every supervisor allows ``SFA_MAX_RESTARTS`` restarts in ``SFA_RESTART_PERIOD_S``. If the root itself gives
up, the workers stay down and the status tree says so; the web endpoint keeps serving.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from sfa.actors.devices import gpu_devices
from sfa.actors.pool import WorkerPool
from sfa.actors.presence import PresenceSupervisor
from sfa.actors.system import ActorSystemBridge
from sfa.actors.workers import GpuWorker, JobWorker
from sfa.config import Config
from sfa.supervisors import ChildSpec, Exit, Intensity, Supervisor
from sfa.supervisors.control import SOCKET_NAME, ControlChannel

log = logging.getLogger(__name__)

JOB_WORKER = f"{JobWorker.__module__}.{JobWorker.__qualname__}"
GPU_WORKER = f"{GpuWorker.__module__}.{GpuWorker.__qualname__}"


class ActorTree:
    def __init__(self, config: Config, queues: Mapping[str, int], performers: Mapping[str, str]) -> None:
        """``queues``: queue name -> its pool's worker count; ``performers``: job kind -> the import path of
        the function performing it (both from the server's :class:`~sfa.jobs.kinds.JobKinds`)."""
        self.config = config
        self.queues = dict(queues)
        self.performers = dict(performers)
        self.intensity = Intensity(config.max_restarts, config.restart_period_s)
        self.bridge: ActorSystemBridge | None = None
        self.pools: dict[str, WorkerPool] = {}
        self.gpu: WorkerPool | None = None
        self.root: Supervisor | None = None
        self.control: ControlChannel | None = None

    async def start(self) -> ActorTree:
        try:
            self.bridge = await ActorSystemBridge(self.config.actor_base, admin_port=self.config.actor_admin_port,
                                                  log_level=self.config.log_level).start()
            self.pools = {queue: WorkerPool(queue, self.bridge, devices=["cpu"] * count, actor_class=JOB_WORKER,
                                            worker_type="job_worker", performers=self.performers,
                                            intensity=self.intensity)
                          for queue, count in self.queues.items()}
            # Local stem separation (the processing queue) is what runs on the GPU workers: a node that does
            # not take processing jobs (a worker node for downloads, say) starts none.
            if "processing" in self.queues:
                self.gpu = WorkerPool("gpu", self.bridge, devices=gpu_devices(), actor_class=GPU_WORKER,
                                      worker_type="gpu_worker", performers=self.performers,
                                      intensity=self.intensity, slots=self.config.workers_processing)
            specs = [pool.spec() for pool in (*self.pools.values(), *filter(None, [self.gpu]))]
            specs.append(ChildSpec("presences", self._start_presences, type="supervisor"))
            self.root = await Supervisor("root", specs, intensity=self.intensity).start()
            self.root.done.add_done_callback(self._root_ended)
            self.control = await ControlChannel(self.config.var_dir / SOCKET_NAME, {"status": self.snapshot}).start()
        except BaseException:
            await self.stop()
            raise
        log.info("supervision tree up: %d worker processes in Unix session %s", len(self.bridge.processes()),
                 self.bridge.sid)
        return self

    @property
    def presences(self) -> PresenceSupervisor:
        """The running presence supervisor (a new one after a restart)."""
        return self.root.child("presences")

    async def _start_presences(self) -> PresenceSupervisor:
        return await PresenceSupervisor(idle_s=self.config.presence_idle_s).start()

    def _root_ended(self, done: Any) -> None:
        exit: Exit = done.result()
        if not exit.normal:
            log.critical("the root supervisor gave up (%s): no workers run until the server restarts", exit.reason)

    def problem(self) -> str | None:
        """None while the root supervisor runs; what stopped it otherwise (workers no longer run)."""
        if self.root is None or not self.root.done.done():
            return None
        return f"the root supervisor has stopped ({self.root.done.result().reason}): no jobs run"

    def snapshot(self) -> dict[str, Any]:
        return {"actor_base": self.bridge.base, "admin_port": self.bridge.admin_port,
                "actor_sid": self.bridge.sid, "actor_processes": len(self.bridge.processes()),
                "tree": self.root.snapshot()}

    async def stop(self) -> None:
        if self.control is not None:
            await self.control.stop()
        if self.root is not None:
            await self.root.stop()
        if self.bridge is not None:
            await self.bridge.stop()
