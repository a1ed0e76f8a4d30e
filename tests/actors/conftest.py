"""A real Thespian actor system per test (its own free admin port), and worker pools on it."""

import contextlib
from collections.abc import AsyncIterator, Callable

import pytest

from sfa.actors.pool import WorkerPool
from sfa.actors.system import ActorSystemBridge
from sfa.actors.tree import GPU_WORKER, JOB_WORKER
from sfa.supervisors import Intensity, Supervisor
from sfa.supervisors.supervisor import DEFAULT_INTENSITY
from tests.actors.jobs import PERFORMERS


@pytest.fixture
async def bridge() -> AsyncIterator[ActorSystemBridge]:
    bridge = await ActorSystemBridge(log_level="error").start()
    yield bridge
    await bridge.stop()
    assert bridge.processes() == []


def job_pool(bridge: ActorSystemBridge, name: str = "download", workers: int = 3,
             intensity: Intensity = DEFAULT_INTENSITY) -> WorkerPool:
    return WorkerPool(name, bridge, devices=["cpu"] * workers, actor_class=JOB_WORKER, worker_type="job_worker",
                      performers=PERFORMERS, intensity=intensity)


def gpu_pool(bridge: ActorSystemBridge, devices: list[str]) -> WorkerPool:
    return WorkerPool("gpu", bridge, devices=devices, actor_class=GPU_WORKER, worker_type="gpu_worker",
                      performers=PERFORMERS)


@contextlib.asynccontextmanager
async def supervised_pool(make_pool: Callable[[ActorSystemBridge], WorkerPool]) -> AsyncIterator[WorkerPool]:
    """A pool of real worker processes on an actor system of its own, under a root supervisor."""
    bridge = await ActorSystemBridge(log_level="error").start()
    pool = make_pool(bridge)
    tree = await Supervisor("root", [pool.spec()]).start()
    try:
        yield pool
    finally:
        await tree.stop()
        await bridge.stop()

