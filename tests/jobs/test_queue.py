"""The durable queue's semantics on real PostgreSQL: run, retry with backoff, give up, concurrency,
cancel, rescue from a dead node, no duplicate pending job, release on stop, and every transition announced."""

from __future__ import annotations

import asyncio
import random

import pytest

from sfa.jobs import store
from sfa.jobs.backoff import retry_delay
from sfa.jobs.store import NewJob
from sfa.pubsub import PubSub
from tests.jobs.conftest import wait_for_state


async def test_a_job_runs_and_completes_with_its_result(start_queue, add_job, queue_name, database):
    await start_queue({queue_name: 2})
    job = await add_job(queue_name, {"do": "succeed"})
    done = await wait_for_state(database, job.id, "completed")
    assert done.result == {"answer": 42, "attempt": 1}
    assert (done.attempt, done.progress, done.errors, done.status) == (1, 100, [], "completed")
    assert done.started_at is not None and done.finished_at >= done.started_at


async def test_failures_are_retried_with_backoff_then_succeed(start_queue, add_job, queue_name, database,
                                                              behaviours, queue_config):
    await start_queue({queue_name: 1})
    job = await add_job(queue_name, {"do": "fail_until", "succeed_on": 3})
    done = await wait_for_state(database, job.id, "completed")
    assert done.attempt == 3 and done.result == {"attempt": 3}
    assert [(e["attempt"], e["error"]) for e in done.errors] == [(1, "flaky on attempt 1"), (2, "flaky on attempt 2")]
    assert behaviours.runs == [(job.id, 1), (job.id, 2), (job.id, 3)]


async def test_a_job_fails_for_good_after_max_attempts(start_queue, add_job, queue_name, database):
    await start_queue({queue_name: 1})
    job = await add_job(queue_name, {"do": "fail_until", "succeed_on": 99}, max_attempts=2)
    failed = await wait_for_state(database, job.id, "failed")
    assert failed.attempt == 2 and len(failed.errors) == 2 and failed.error == "flaky on attempt 2"
    assert failed.finished_at is not None


async def test_a_permanent_failure_is_not_retried(start_queue, add_job, queue_name, database, behaviours):
    await start_queue({queue_name: 1})
    job = await add_job(queue_name, {"do": "reject"})
    failed = await wait_for_state(database, job.id, "failed")
    assert failed.attempt == 1 and failed.error == "bad input"
    assert behaviours.runs == [(job.id, 1)]


def test_backoff_grows_exponentially_with_bounded_jitter():
    rand = random.Random(7)
    delays = [retry_delay(n, base_s=2, max_s=300, rand=rand) for n in range(1, 12)]
    for attempt, delay in enumerate(delays[:7], start=1):
        assert 2 * 2 ** (attempt - 1) <= delay <= 2.5 * 2 ** (attempt - 1)
    assert delays[-1] == 300
    assert len({round(retry_delay(1, base_s=2, max_s=300), 6) for _ in range(20)}) > 1


async def test_retry_waits_for_its_backoff(start_queue, add_job, queue_name, database, queue_config):
    queue_config = queue_config  # backoff 0.05 s: the second attempt is scheduled at least that late
    await start_queue({queue_name: 1})
    job = await add_job(queue_name, {"do": "fail_until", "succeed_on": 2})
    done = await wait_for_state(database, job.id, "completed")
    first_failure = done.errors[0]["at"]
    assert done.run_at.isoformat() >= first_failure[:19]
    assert (done.started_at - done.inserted_at).total_seconds() >= queue_config.queue_backoff_s


async def test_each_queue_runs_at_most_its_concurrency(start_queue, add_job, queue_name, database, behaviours):
    queue = await start_queue({queue_name: 2})
    jobs = [await add_job(queue_name, {"do": "block", "n": n}) for n in range(5)]
    async with asyncio.timeout(5):
        while len(behaviours.running) < 2:
            await asyncio.sleep(0.01)
    await asyncio.sleep(0.2)
    assert queue.running(queue_name) == 2 and len(behaviours.running) == 2
    async with asyncio.timeout(10):
        while len(behaviours.runs) < 5 or behaviours.running:
            for job_id in list(behaviours.running):
                behaviours.gates.setdefault(job_id, asyncio.Event()).set()
            await asyncio.sleep(0.02)
    for job in jobs:
        await wait_for_state(database, job.id, "completed")
    assert behaviours.most_at_once == 2


async def test_a_cancelled_job_never_starts(start_queue, add_job, queue_name, database, behaviours):
    job = await add_job(queue_name, {"do": "succeed"})
    async with database.pool.acquire() as conn:
        cancelled = await store.cancel(conn, job.id, job.user_id)
        assert cancelled.state == "cancelled"
        assert await store.cancel(conn, job.id, job.user_id) is None
    await start_queue({queue_name: 1})
    await asyncio.sleep(0.3)
    assert behaviours.runs == []


async def test_jobs_of_a_dead_node_are_rescued_and_run_again(start_queue, add_job, queue_name, database,
                                                            queue_config):
    job = await add_job(queue_name, {"do": "succeed"})
    async with database.pool.acquire() as conn:
        [claimed] = await store.claim(conn, queue_name, 1, "dead-node")
        await conn.execute("UPDATE jobs SET heartbeat_at = now() - interval '1 hour' WHERE id = $1", claimed.id)
    queue = await start_queue({queue_name: 1})
    async with database.pool.acquire() as conn:
        await queue.rescue(conn)
    done = await wait_for_state(database, job.id, "completed")
    assert done.attempt == 2
    assert "dead-node" in done.errors[0]["error"] and done.errors[0]["attempt"] == 1


async def test_a_live_nodes_leases_are_renewed_not_rescued(start_queue, add_job, queue_name, database,
                                                          behaviours, queue_config):
    queue = await start_queue({queue_name: 1})
    job = await add_job(queue_name, {"do": "block"})
    await wait_for_state(database, job.id, "running")
    async with database.pool.acquire() as conn:
        await store.heartbeat(conn, queue.node)
        assert await queue.rescue(conn) == []
    behaviours.gates.setdefault(job.id, asyncio.Event()).set()
    assert (await wait_for_state(database, job.id, "completed")).attempt == 1


async def test_no_duplicate_pending_job_for_the_same_track_kind_and_args(database, make_account, queue_name):
    account = await make_account()
    track_id = await database.pool.fetchval(
        "INSERT INTO tracks (user_id, title, source) VALUES ($1, 't', 'upload') RETURNING id", account.user.id)
    new = NewJob(account.user.id, "analysis", queue_name, "processing", {"features": ["all"], "b": 1}, track_id)
    async with database.pool.acquire() as conn:
        first, created = await store.insert(conn, new)
        assert created
        twin, created = await store.insert(conn, NewJob(account.user.id, "analysis", queue_name, "processing",
                                                         {"b": 1, "features": ["all"]}, track_id))
        assert (twin.id, created) == (first.id, False)
        other, created = await store.insert(conn, NewJob(account.user.id, "analysis", queue_name, "processing",
                                                          {"features": ["tempo"]}, track_id))
        assert created and other.id != first.id
        await store.claim(conn, queue_name, 10, "node")
        again, created = await store.insert(conn, new)
        assert created and again.id != first.id


async def test_stopping_puts_running_jobs_back_without_spending_an_attempt(start_queue, add_job, queue_name,
                                                                           database, behaviours):
    queue = await start_queue({queue_name: 1})
    job = await add_job(queue_name, {"do": "block"})
    await wait_for_state(database, job.id, "running")
    await queue.stop()
    back = await wait_for_state(database, job.id, "queued")
    assert back.attempt == 0 and back.node is None
    await start_queue({queue_name: 1})
    await wait_for_state(database, job.id, "running")
    behaviours.gates[job.id].set()
    assert (await wait_for_state(database, job.id, "completed")).attempt == 1


async def test_every_transition_and_progress_step_is_published(start_queue, add_job, queue_name, database):
    pubsub = await PubSub(database).start()
    try:
        job = await add_job(queue_name, {"do": "fail_until", "succeed_on": 2})
        heard = []
        pubsub.subscribe(f"jobs:{job.id}", heard.append)
        await start_queue({queue_name: 1})
        await wait_for_state(database, job.id, "completed")
        async with asyncio.timeout(5):
            while not heard or heard[-1].event != "job:completed":
                await asyncio.sleep(0.02)
    finally:
        await pubsub.stop()
    assert [(b.event, b.payload.get("status"), b.payload.get("progress")) for b in heard] == [
        ("job:progress", "processing", 0), ("job:progress", "queued", 0),
        ("job:progress", "processing", 0), ("job:completed", None, None)]
    assert heard[1].payload["message"].startswith("attempt 1 failed; retrying in")
    assert heard[-1].payload == {"job_id": job.id, "job_type": "analysis", "track_id": None,
                                 "result": {"attempt": 2}}


@pytest.mark.parametrize("do", ["reject"])
async def test_a_final_failure_is_published_as_job_failed(start_queue, add_job, queue_name, database, do):
    pubsub = await PubSub(database).start()
    try:
        job = await add_job(queue_name, {"do": do})
        heard = []
        pubsub.subscribe(f"jobs:{job.id}", heard.append)
        await start_queue({queue_name: 1})
        async with asyncio.timeout(5):
            while not heard or heard[-1].event != "job:failed":
                await asyncio.sleep(0.02)
    finally:
        await pubsub.stop()
    assert heard[-1].payload == {"job_id": job.id, "job_type": "analysis", "error": "bad input"}
