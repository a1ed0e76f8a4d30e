"""Events published by one server process reach the sockets another process holds (same database)."""

from __future__ import annotations

import asyncio
import sys
import textwrap
from pathlib import Path

import pytest

from sfa.pubsub import Broadcast, job_progress
from sfa.web.keys import PUBSUB

ROOT = Path(__file__).resolve().parents[2]
BIG = "x" * 12_000

PUBLISHER = textwrap.dedent("""
    import asyncio, sys
    from sfa.db import Database
    from sfa.pubsub import Broadcast, PubSub

    async def main(url, topic):
        database = await Database(url, max_size=1).connect()
        pubsub = PubSub(database)
        await pubsub.publish(Broadcast(topic, "user:small", {"from": "another process"}))
        await pubsub.publish(Broadcast(topic, "user:big", {"blob": "x" * 12_000}))
        await database.close()

    asyncio.run(main(*sys.argv[1:]))
""")


@pytest.fixture
async def account(make_account):
    return await make_account()


@pytest.mark.parametrize("transport", ["websocket", "longpoll"])
async def test_a_broadcast_from_another_node_reaches_the_socket_including_big_payloads(
        js, server, other_node, account, transport):
    topic = f"user:{account.user.id}"
    client = await js()
    await client.connect(f"ws://127.0.0.1:{server.port}/socket", transport=transport, params={"token": account.token})
    assert (await client.join(topic))["status"] == "ok"

    await other_node.app[PUBSUB].publish(Broadcast(topic, "user:notice", {"n": 1}))
    await other_node.app[PUBSUB].publish(Broadcast(topic, "user:big", {"blob": BIG}))

    assert (await client.expect("message", event="user:notice"))["payload"] == {"n": 1}
    assert (await client.expect("message", event="user:big"))["payload"] == {"blob": BIG}


async def test_a_separate_os_process_publishes_to_a_client_of_this_one(js, server, database_url, account):
    topic = f"user:{account.user.id}"
    client = await js()
    await client.connect(f"ws://127.0.0.1:{server.port}/socket", params={"token": account.token})
    await client.join(topic)

    publisher = await asyncio.create_subprocess_exec(sys.executable, "-c", PUBLISHER, database_url, topic, cwd=ROOT)
    assert await publisher.wait() == 0

    assert (await client.expect("message", event="user:small"))["payload"] == {"from": "another process"}
    assert (await client.expect("message", event="user:big"))["payload"] == {"blob": BIG}


async def test_job_progress_from_another_node_reaches_a_jobs_channel_subscriber(server, other_node):
    """The PubSub side of ``jobs:<id>`` (the join itself needs the jobs table: test_phoenix_jobs.py)."""
    heard: asyncio.Queue[Broadcast] = asyncio.Queue()
    server.app[PUBSUB].subscribe("jobs:41", heard.put_nowait)
    await other_node.app[PUBSUB].publish(job_progress(41, status="processing", progress=55, message="separating"))
    assert (await asyncio.wait_for(heard.get(), 5)).payload == {
        "job_id": 41, "status": "processing", "progress": 55, "message": "separating"}
