"""A job kind is one declaration: this file adds one, and the whole server runs it (its own queue and worker
pool, its performer in a worker process, its record step in the completing transaction, its events)."""

from __future__ import annotations

import os

import pytest

from sfa.accounts import create_user
from sfa.actors.performers import JobContext
from sfa.config import Config
from sfa.job_kinds import JOB_KINDS
from sfa.jobs import JobKind, JobKinds, enqueue
from sfa.pubsub import Broadcast
from sfa.server import Server
from tests.conftest import free_port
from tests.jobs.conftest import wait_for_state


def shout(ctx: JobContext) -> dict:
    ctx.report(0.5, "shouting")
    return {"title": ctx.job.args["title"].upper(), "pid": os.getpid()}


async def record_title(conn, job, config: Config) -> None:
    await conn.execute("UPDATE tracks SET title = $2 WHERE id = $1", job.track_id, job.result["title"])


SHOUT_KIND = JobKind("test.shout", queue="shouting", workers="workers_analysis", perform=shout, record=record_title)


async def test_a_kind_declared_in_one_place_runs_through_the_whole_server(config, blank_database_url):
    """On a database of its own: a node of the cluster, it must be the only one its database knows."""
    server = Server(config.replace(port=free_port(), database_url=blank_database_url, workers_download=1,
                                   workers_processing=1, workers_analysis=1), JOB_KINDS.with_kinds(SHOUT_KIND))
    await server.start()
    try:
        user = await create_user(server.database, "shouter@example.com", "a long enough password")
        heard: list[Broadcast] = []
        async with server.database.pool.acquire() as conn, conn.transaction():
            track_id = await conn.fetchval("INSERT INTO tracks (user_id, title, source) VALUES ($1, 'quiet', "
                                           "'upload') RETURNING id", user.id)
            job, _ = await enqueue(conn, SHOUT_KIND, user_id=user.id, track_id=track_id,
                                   args={"title": "quiet"})
            server.pubsub.subscribe(f"jobs:{job.id}", heard.append)
        done = await wait_for_state(server.database, job.id, "completed", "failed", timeout=30)

        assert (done.state, done.queue) == ("completed", "shouting")
        workers = [child for child in server.tree.snapshot()["tree"]["children"] if child["name"] == "shouting"]
        assert done.result["pid"] in [worker["pid"] for worker in workers[0]["children"]]
        assert done.result["pid"] != os.getpid()
        title = await server.database.pool.fetchval("SELECT title FROM tracks WHERE id = $1", track_id)
        assert title == "QUIET"
        completed = [message for message in heard if message.event == "job:completed"]
        assert [message.payload["job_type"] for message in completed] == ["test.shout"]
        assert any(message.payload.get("message") == "shouting" and message.payload["status"] == "processing"
                   for message in heard if message.event == "job:progress")
    finally:
        await server.stop()


def test_a_kind_is_declared_once_and_a_queue_is_sized_by_one_setting():
    with pytest.raises(ValueError, match=r"'test\.shout' declared twice"):
        JobKinds(SHOUT_KIND, SHOUT_KIND)
    with pytest.raises(ValueError, match="queue 'shouting' is sized by both workers_analysis and workers_download"):
        JobKinds(SHOUT_KIND, JobKind("test.whisper", queue="shouting", workers="workers_download", perform=shout))
    with pytest.raises(ValueError, match="running_status must be one of downloading, processing"):
        JobKind("test.x", queue="x", workers="workers_analysis", perform=shout, running_status="shouting")
    with pytest.raises(ValueError, match="workers names no setting"):
        JobKind("test.x", queue="x", workers="workers_shouting", perform=shout)
