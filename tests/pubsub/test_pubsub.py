"""PubSub: local delivery, and fan-out between instances that share only the database."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest

from sfa.db import Database
from sfa.pubsub import Broadcast, PubSub, job_completed, job_failed, job_progress, notify
from sfa.pubsub.postgres import CHANNEL, MAX_NOTIFY_BYTES

DELIVERY_TIMEOUT_S = 5


class Inbox:
    """A subscriber that keeps what it hears."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Broadcast] = asyncio.Queue()

    def __call__(self, message: Broadcast) -> None:
        self.queue.put_nowait(message)

    async def next(self) -> Broadcast:
        return await asyncio.wait_for(self.queue.get(), DELIVERY_TIMEOUT_S)

    async def nothing_more(self, seconds: float = 0.3) -> None:
        await asyncio.sleep(seconds)
        assert self.queue.empty(), self.queue.get_nowait()


@pytest.fixture
async def nodes(database_url: str) -> AsyncIterator[tuple[PubSub, PubSub]]:
    """Two PubSubs, each with its own pool and LISTEN connection, like two server processes."""
    databases = [await Database(database_url, max_size=2).connect() for _ in range(2)]
    pubsubs = [await PubSub(db).start() for db in databases]
    yield pubsubs[0], pubsubs[1]
    for pubsub, db in zip(pubsubs, databases, strict=True):
        await pubsub.stop()
        await db.close()


async def test_a_broadcast_reaches_local_and_remote_subscribers_once(nodes):
    a, b = nodes
    here, there, elsewhere = Inbox(), Inbox(), Inbox()
    a.subscribe("room:1", here)
    b.subscribe("room:1", there)
    b.subscribe("room:2", elsewhere)

    message = Broadcast("room:1", "new", {"n": 1, "text": "héllo"})
    await a.publish(message)

    assert await here.next() == message
    assert await there.next() == message
    await here.nothing_more()
    await elsewhere.nothing_more(0)


async def test_a_payload_too_big_for_notify_is_stored_and_still_delivered(nodes, database):
    a, b = nodes
    there = Inbox()
    b.subscribe("big", there)
    payload = {"blob": "é" * 20_000}
    assert len(str(payload).encode()) > MAX_NOTIFY_BYTES

    await a.publish(Broadcast("big", "blob", payload))

    assert (await there.next()).payload == payload
    assert await database.pool.fetchval("SELECT count(*) FROM pubsub_payloads") >= 1


async def test_notify_inside_a_transaction_is_delivered_at_commit_only(nodes, database):
    _, b = nodes
    there = Inbox()
    b.subscribe("jobs:1", there)
    async with database.pool.acquire() as conn:
        async with conn.transaction():
            await notify(conn, job_progress(1, status="processing", progress=10))
            await there.nothing_more()
        assert (await there.next()).payload["progress"] == 10

        with pytest.raises(RuntimeError):
            async with conn.transaction():
                await notify(conn, job_progress(1, status="processing", progress=20))
                raise RuntimeError("roll back")
    await there.nothing_more()


async def test_cancelled_subscriptions_hear_nothing(nodes):
    a, _ = nodes
    inbox = Inbox()
    subscription = a.subscribe("room:1", inbox)
    subscription.cancel()
    subscription.cancel()
    await a.publish(Broadcast("room:1", "new", {}))
    await inbox.nothing_more()
    assert a.subscribers("room:1") == 0


async def test_a_notification_that_is_no_broadcast_is_dropped_and_listening_goes_on(nodes, database, caplog):
    a, b = nodes
    there = Inbox()
    b.subscribe("room:1", there)
    with caplog.at_level(logging.WARNING):
        await database.pool.execute("SELECT pg_notify($1, $2)", CHANNEL, "not json")
        await database.pool.execute("SELECT pg_notify($1, $2)", CHANNEL, '{"o":"x","r":999999999}')
        await a.publish(Broadcast("room:1", "after", {}))
        assert (await there.next()).event == "after"
        # Two bad notifications, heard by each node; node a may log its two a moment after b heard "after".
        async with asyncio.timeout(DELIVERY_TIMEOUT_S):
            while caplog.text.count("dropped a notification") < 4:
                await asyncio.sleep(0.02)


async def test_the_listener_reconnects_when_its_connection_is_killed(nodes, database):
    a, b = nodes
    there = Inbox()
    b.subscribe("room:1", there)
    killed = await database.pool.fetchval(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query LIKE 'LISTEN%' "
        "AND datname = current_database()")
    assert killed >= 1

    async with asyncio.timeout(DELIVERY_TIMEOUT_S):
        while True:
            await a.publish(Broadcast("room:1", "again", {}))
            try:
                assert (await asyncio.wait_for(there.queue.get(), 0.2)).event == "again"
                break
            except TimeoutError:
                continue


async def test_binary_payloads_cannot_be_broadcast(nodes):
    a, _ = nodes
    with pytest.raises(TypeError, match=r"Channel\.push"):
        await a.publish(Broadcast("room:1", "blob", {"data": b"\x00"}))


def test_job_events_have_the_contract_payloads():
    assert job_progress(7, status="downloading", progress=40, message="fetching") == Broadcast(
        "jobs:7", "job:progress", {"job_id": 7, "status": "downloading", "progress": 40, "message": "fetching"})
    assert job_completed(7, job_type="analysis", track_id=3, result={"tempo": 120}) == Broadcast(
        "jobs:7", "job:completed", {"job_id": 7, "job_type": "analysis", "track_id": 3, "result": {"tempo": 120}})
    assert job_failed(7, job_type="download", error="404") == Broadcast(
        "jobs:7", "job:failed", {"job_id": 7, "job_type": "download", "error": "404"})
    with pytest.raises(ValueError, match=r"0\.\.100"):
        job_progress(7, status="processing", progress=101)
