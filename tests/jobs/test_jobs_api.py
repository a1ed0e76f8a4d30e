"""``/api/jobs`` and ``/api/admin/jobs`` over the real app: list, show, cancel, the operators' overview."""

from __future__ import annotations

from sfa.jobs import store
from sfa.jobs.maintenance import Maintenance
from sfa.jobs.stats import fold_counts, overview
from tests.jobs.conftest import wait_for_state


async def test_list_and_show_the_callers_jobs(client, make_account, add_job, queue_name):
    account, other = await make_account(), await make_account()
    first = await add_job(queue_name, {"n": 1}, user_id=account.user.id)
    second = await add_job(queue_name, {"n": 2}, user_id=account.user.id)
    await add_job(queue_name, {"n": 3}, user_id=other.user.id)
    body = await (await client.get("/api/jobs?page_size=1", headers=account.headers)).json()
    assert [job["id"] for job in body["data"]] == [second.id]
    assert body["meta"] == {"page": 1, "page_size": 1, "total_count": 2, "total_pages": 2}
    shown = (await (await client.get(f"/api/jobs/{first.id}", headers=account.headers)).json())["data"]
    assert {k: shown[k] for k in ("id", "status", "progress", "kind", "attempts", "error")} == {
        "id": first.id, "status": "queued", "progress": 0, "kind": "analysis", "attempts": 0, "error": None}
    assert shown["inserted_at"] and shown["started_at"] is None and shown["finished_at"] is None


async def test_a_pending_job_is_cancelled_a_running_or_finished_one_is_422(client, make_account, add_job,
                                                                           queue_name, database, start_queue,
                                                                           behaviours):
    account = await make_account()
    pending = await add_job(queue_name, {"do": "succeed"}, user_id=account.user.id)
    response = await client.delete(f"/api/jobs/{pending.id}", headers=account.headers)
    assert response.status == 200 and (await response.json())["data"]["status"] == "cancelled"
    again = await client.delete(f"/api/jobs/{pending.id}", headers=account.headers)
    assert again.status == 422 and "status" in (await again.json())["details"]

    running = await add_job(queue_name, {"do": "block"}, user_id=account.user.id)
    await start_queue({queue_name: 1})
    await wait_for_state(database, running.id, "running")
    response = await client.delete(f"/api/jobs/{running.id}", headers=account.headers)
    assert response.status == 422
    assert (await response.json())["details"]["status"] == ["is processing; only a queued job can be cancelled"]
    behaviours.gates[running.id].set()
    await wait_for_state(database, running.id, "completed")
    assert (await client.delete(f"/api/jobs/{running.id}", headers=account.headers)).status == 422
    assert behaviours.runs == [(running.id, 1)]


async def test_another_users_job_is_404(client, make_account, add_job, queue_name):
    owner, stranger = await make_account(), await make_account()
    job = await add_job(queue_name, {"n": 1}, user_id=owner.user.id)
    for method in ("GET", "DELETE"):
        response = await client.request(method, f"/api/jobs/{job.id}", headers=stranger.headers)
        assert response.status == 404 and (await response.json())["code"] == "NOT_FOUND"
    assert (await client.get(f"/api/jobs/{job.id}", headers=owner.headers)).status == 200


async def test_admin_overview_counts_by_queue_and_state(client, make_account, add_job, queue_name, database):
    admin, user = await make_account("admin"), await make_account()
    await add_job(queue_name, {"n": 1})
    await add_job(queue_name, {"n": 2})
    await add_job(queue_name, {"n": 3})
    async with database.pool.acquire() as conn:
        await conn.execute("UPDATE jobs SET run_at = now() - interval '5 seconds' WHERE queue = $1", queue_name)
        [claimed, *_] = await store.claim(conn, queue_name, 1, "node")
        await store.complete_many(conn, [(claimed, {"ok": True})])
    assert (await client.get("/api/admin/jobs", headers=user.headers)).status == 403
    body = (await (await client.get("/api/admin/jobs", headers=admin.headers)).json())["data"]
    mine = body["queues"][queue_name]
    assert mine["counts"] == {"queued": 2, "running": 0, "completed": 1, "failed": 0, "cancelled": 0}
    assert mine["oldest_waiting_s"] >= 5 and mine["completed_last_minute"] == 1
    assert body["completed_last_minute"] >= 1 and body["totals"]["queued"] >= 2


async def test_the_overview_counts_follow_every_transition_through_a_fold(add_job, queue_name, database):
    for n in range(3):
        await add_job(queue_name, {"n": n})
    async with database.pool.acquire() as conn:
        await fold_counts(conn)
        await conn.execute("UPDATE jobs SET state = 'cancelled', finished_at = now() WHERE queue = $1 AND "
                           "args->>'n' = '0'", queue_name)

    assert (await overview(database))["queues"][queue_name]["counts"] == \
        {"queued": 2, "running": 0, "completed": 0, "failed": 0, "cancelled": 1}


async def test_finished_jobs_past_the_retention_are_pruned_and_leave_the_counts(add_job, queue_name, database,
                                                                                 config):
    old, recent, waiting = [await add_job(queue_name, {"n": n}) for n in range(3)]
    async with database.pool.acquire() as conn:
        await conn.execute("UPDATE jobs SET state = 'completed', finished_at = now() - $2 * interval '1 second' "
                           "WHERE id = $1", old.id, 3600)
        await conn.execute("UPDATE jobs SET state = 'failed', finished_at = now() WHERE id = $1", recent.id)

    pruned = await Maintenance(database, config.replace(queue_retention_s=600)).round()

    assert pruned >= 1
    left = {row["id"] for row in await database.pool.fetch("SELECT id FROM jobs WHERE queue = $1", queue_name)}
    assert left == {recent.id, waiting.id}
    assert (await overview(database))["queues"][queue_name]["counts"] == \
        {"queued": 1, "running": 0, "completed": 0, "failed": 1, "cancelled": 0}
    assert await database.pool.fetchval("SELECT count(*) FROM job_counts WHERE queue = $1", queue_name) == 2
