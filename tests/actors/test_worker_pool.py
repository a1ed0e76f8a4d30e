"""Worker pools over real worker processes: results, progress, failures, and kill -9 in the middle of a job."""

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import psutil
import pytest

from sfa.actors import JobError, JobProgress, RunJob, WorkerCrashed, WorkerPool
from sfa.actors.system import ActorSystemBridge
from sfa.config import ACTOR_BASES
from sfa.supervisors import Supervisor
from tests.actors.conftest import gpu_pool, job_pool

RESTART_DEADLINE_S = 2.0


def started_pids(folder: Path, job_id: int) -> list[int]:
    path = folder / f"{job_id}.started"
    return [int(line.split()[1]) for line in path.read_text().splitlines()] if path.exists() else []


async def until(predicate, timeout: float = 10.0, every: float = 0.01):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(every)
    return value


@pytest.fixture
async def one_worker(bridge: ActorSystemBridge) -> AsyncIterator[tuple[WorkerPool, Supervisor]]:
    """A download pool of one worker process, under a root supervisor."""
    pool = job_pool(bridge, workers=1)
    tree = await Supervisor("root", [pool.spec()]).start()
    yield pool, tree
    await tree.stop()


def worker_pids(tree: Supervisor, pool: str) -> list[int | None]:
    [node] = [child for child in tree.snapshot()["children"] if child["name"] == pool]
    return [worker["pid"] for worker in node["children"]]


async def run_with_retries(pool, job: RunJob) -> tuple[object, int]:
    """What the durable queue does: run again with attempt + 1 when the worker died under the job."""
    while True:
        try:
            return await pool.run(job), job.attempt
        except WorkerCrashed:
            job = RunJob(job.job_id, job.kind, job.attempt + 1, job.args)


async def test_a_job_runs_in_a_worker_process_and_reports_progress_on_the_way(bridge, tmp_path):
    pool = job_pool(bridge)
    tree = await Supervisor("root", [pool.spec()]).start()
    progress: list[JobProgress] = []
    try:
        result = await pool.run(RunJob(1, "test.sleep-then-return", 1, {"dir": str(tmp_path), "s": 0.2}),
                                on_progress=progress.append)
        workers = worker_pids(tree, "download")
    finally:
        await tree.stop()

    assert result["pid"] != os.getpid()
    assert result["pid"] in workers
    assert progress == [JobProgress(1, 0.5, "slept half"), JobProgress(1, 1.0, "done sleeping")]


async def test_kill_9_mid_job_restarts_the_worker_and_the_retry_completes_exactly_once(bridge, tmp_path):
    pool = job_pool(bridge)
    tree = await Supervisor("root", [pool.spec()]).start()
    try:
        job = RunJob(7, "test.sleep-then-return", 1, {"dir": str(tmp_path), "s": 1.0})
        running = asyncio.create_task(run_with_retries(pool, job))
        [victim] = await until(lambda: started_pids(tmp_path, 7))
        before = worker_pids(tree, "download")

        killed_at = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        await until(lambda: None not in (pids := worker_pids(tree, "download")) and victim not in pids)
        restarted_in = time.monotonic() - killed_at
        result, attempt = await running
    finally:
        await tree.stop()

    assert restarted_in < RESTART_DEADLINE_S
    assert attempt == 2 and result["attempt"] == 2
    assert (tmp_path / "7.result").read_text().splitlines() == [f"2 {result['pid']}"]
    assert len(started_pids(tmp_path, 7)) == 2
    assert len(set(before) - {victim}) == 2
    assert not psutil.pid_exists(victim) or psutil.Process(victim).status() == psutil.STATUS_ZOMBIE


async def test_the_crashed_job_raises_worker_crashed_and_the_status_counts_the_restart(one_worker):
    pool, tree = one_worker
    with pytest.raises(WorkerCrashed) as crashed:
        await pool.run(RunJob(3, "test.crash", 1, {}))
    await until(lambda: worker_pids(tree, "download")[0] not in (None, crashed.value.pid))
    [worker] = tree.snapshot()["children"][0]["children"]

    assert crashed.value.job_id == 3
    assert worker["restarts"] == 1
    assert worker["last_exit"] == f"process {crashed.value.pid} exited"
    assert worker["state"] == "idle"


async def test_a_rejected_job_fails_for_good_and_the_worker_lives_on(one_worker):
    pool, tree = one_worker
    [pid] = worker_pids(tree, "download")
    with pytest.raises(JobError) as permanent:
        await pool.run(RunJob(5, "test.reject", 1, {}))
    with pytest.raises(JobError) as unknown:
        await pool.run(RunJob(6, "no-such-kind", 1, {}))
    after = worker_pids(tree, "download")

    assert (permanent.value.error, permanent.value.retryable) == ("this input can never work", False)
    assert (unknown.value.error, unknown.value.retryable) == ("no performer for job kind 'no-such-kind'", False)
    assert after == [pid]


async def test_a_transient_failure_fails_the_attempt_and_the_worker_lives_on(one_worker):
    pool, tree = one_worker
    [pid] = worker_pids(tree, "download")
    with pytest.raises(JobError) as failed:
        await pool.run(RunJob(4, "test.stumble", 1, {"why": "503"}))
    after = worker_pids(tree, "download")
    [worker] = tree.snapshot()["children"][0]["children"]

    assert (failed.value.error, failed.value.retryable) == ("the service is busy (503)", True)
    assert after == [pid] and worker["restarts"] == 0


async def test_a_bug_in_a_performer_fails_the_job_then_crashes_the_worker_and_the_supervisor_counts_it(one_worker):
    pool, tree = one_worker
    [pid] = worker_pids(tree, "download")
    with pytest.raises(JobError) as bug:
        await pool.run(RunJob(4, "test.fail", 1, {"why": "disk full"}))
    # Asked at once, the pool never hands the next job to the exiting worker: it waits for the new one.
    after = await pool.run(RunJob(7, "test.count-loads", 1, {}))
    [worker] = tree.snapshot()["children"][0]["children"]

    assert (bug.value.error, bug.value.retryable) == ("ValueError: failing on purpose (disk full)", True)
    assert worker["restarts"] == 1 and worker["last_exit"] == f"process {pid} exited after job 4 failed on a bug"
    assert worker["pid"] != pid and after == 1


async def test_work_queued_for_a_killed_gpu_worker_proceeds_on_its_replacement(bridge, tmp_path):
    pool = gpu_pool(bridge, ["cpu"])
    tree = await Supervisor("root", [pool.spec()]).start()
    try:
        jobs = [RunJob(n, "test.sleep-then-return", 1, {"dir": str(tmp_path), "s": 0.5 if n == 1 else 0})
                for n in (1, 2, 3)]
        runs = [asyncio.create_task(pool.run(job)) for job in jobs]
        [victim] = await until(lambda: started_pids(tmp_path, 1))
        await until(lambda: pool.waiting == 2)
        status = tree.snapshot()["children"][0]
        os.kill(victim, signal.SIGKILL)
        outcomes = await asyncio.gather(*runs, return_exceptions=True)
    finally:
        await tree.stop()

    assert status["mailbox_depth"] == 2
    assert status["children"][0]["current_job"] == 1 and status["children"][0]["type"] == "gpu_worker"
    assert isinstance(outcomes[0], WorkerCrashed)
    assert [outcome["job_id"] for outcome in outcomes[1:]] == [2, 3]
    assert {outcome["pid"] for outcome in outcomes[1:]} != {victim}
    assert outcomes[1]["device"] == "cpu"


async def test_a_worker_keeps_its_state_between_jobs_and_a_cancelled_job_costs_its_worker(one_worker, tmp_path):
    pool, tree = one_worker
    loads = [await pool.run(RunJob(n, "test.count-loads", 1, {})) for n in (1, 2)]
    [before] = worker_pids(tree, "download")
    running = asyncio.create_task(pool.run(RunJob(3, "test.sleep-then-return", 1,
                                                  {"dir": str(tmp_path), "s": 30})))
    await until(lambda: started_pids(tmp_path, 3))
    running.cancel()
    await until(lambda: worker_pids(tree, "download")[0] not in (None, before))
    after_cancel = await pool.run(RunJob(4, "test.count-loads", 1, {}))

    assert loads == [1, 2]
    assert after_cancel == 1
    assert not (tmp_path / "3.result").exists()


@pytest.mark.parametrize("base", ACTOR_BASES)
async def test_every_configurable_actor_base_isolates_and_restarts_a_crashed_worker(base):
    bridge = await ActorSystemBridge(base, log_level="error").start()
    pool = job_pool(bridge, workers=1)
    tree = await Supervisor("root", [pool.spec()]).start()
    try:
        with pytest.raises(WorkerCrashed):
            await pool.run(RunJob(1, "test.crash", 1, {}))
        after = await pool.run(RunJob(2, "test.count-loads", 1, {}))
        pids = [process.pid for process in bridge.processes()]
    finally:
        await tree.stop()
        await bridge.stop()

    assert after == 1
    assert os.getpid() not in pids
    assert bridge.processes() == []
