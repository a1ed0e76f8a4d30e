"""The GpuWorker process itself: a separation job cancelled mid-track stops between chunks while the
worker (and the model it keeps warm) lives on and serves the next job."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import numpy as np
import pytest
import soundfile

from sfa.actors import JobProgress, RunJob, WorkerPool
from sfa.actors.system import ActorSystemBridge
from sfa.actors.tree import GPU_WORKER
from sfa.job_kinds import JOB_KINDS
from sfa.separation.registry import MODELS
from sfa.supervisors import Supervisor
from tests.actors.test_worker_pool import worker_pids
from tests.separation.nets import htdemucs, seed_checkpoint

RATE = 8000


@pytest.fixture
async def gpu_pool() -> AsyncIterator[tuple[WorkerPool, Supervisor]]:
    bridge = await ActorSystemBridge(log_level="error").start()
    pool = WorkerPool("gpu", bridge, devices=["cpu"], actor_class=GPU_WORKER, worker_type="gpu_worker",
                      performers=JOB_KINDS.performers(), slots=2)
    tree = await Supervisor("root", [pool.spec()]).start()
    yield pool, tree
    await tree.stop()
    await bridge.stop()


def job(job_id: int, tmp_path, seconds: float) -> RunJob:
    path = f"tracks/1/original-{job_id}.wav"
    (tmp_path / "data" / path).parent.mkdir(parents=True, exist_ok=True)
    noise = np.random.default_rng(job_id).uniform(-0.3, 0.3, (int(RATE * seconds), 2))
    soundfile.write(tmp_path / "data" / path, noise, RATE)
    return RunJob(job_id, "processing", 1, {
        "engine": "local", "model": "htdemucs", "path": path, "data_dir": str(tmp_path / "data"),
        "folder": f"tracks/1/stems/{job_id}", "hub_dir": str(tmp_path / "hub"), "segment_s": 0.5, "overlap": 0.25,
        "weighting": "demucs", "batch": 2, "models_bytes": 1 << 30})


async def test_a_cancelled_job_stops_between_chunks_and_the_worker_lives_on(gpu_pool, tmp_path):
    pool, tree = gpu_pool
    seed_checkpoint(tmp_path / "hub", MODELS["htdemucs"].files[0], htdemucs(segment_s=0.5))
    chunked = asyncio.Event()

    def on_progress(update: JobProgress) -> None:
        if update.message.startswith("chunk"):
            chunked.set()

    running = asyncio.create_task(pool.run(job(1, tmp_path, 60), on_progress=on_progress))
    await asyncio.wait_for(chunked.wait(), 60)
    before = worker_pids(tree, "gpu")
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running

    result = await asyncio.wait_for(pool.run(job(2, tmp_path, 2)), 60)

    assert [stem["name"] for stem in result["stems"]] == ["drums", "bass", "other", "vocals"]
    assert not (tmp_path / "data/tracks/1/stems/1").exists()
    assert worker_pids(tree, "gpu") == before and None not in before
