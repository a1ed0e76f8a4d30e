"""``jobs:<job_id>``: only the owner joins; ``ping``; the job events arrive with the contract's payloads."""

from __future__ import annotations

import pytest

from sfa.pubsub import job_completed, job_failed, job_progress
from sfa.web.channels import job_owner
from sfa.web.keys import PUBSUB


async def test_job_owner_is_the_user_id_or_none(database, job_id, owner):
    assert await job_owner(database, job_id) == owner.user.id
    assert await job_owner(database, job_id + 10_000) is None


@pytest.mark.parametrize("transport", ["websocket", "longpoll"])
async def test_the_owner_joins_pings_and_hears_progress_completion_and_failure(js, server, owner, job_id, transport):
    client = await js()
    await client.connect(f"ws://127.0.0.1:{server.port}/socket", transport=transport, params={"token": owner.token})
    topic = f"jobs:{job_id}"
    assert (await client.join(topic))["status"] == "ok"
    assert (await client.push(topic, "ping"))["status"] == "ok"

    pubsub = server.app[PUBSUB]
    events = [
        job_progress(job_id, status="processing", progress=50, message="separating"),
        job_completed(job_id, job_type="processing", track_id=None, result={"stems": ["vocals"]}),
        job_failed(job_id, job_type="processing", error="boom"),
    ]
    for event in events:
        await pubsub.publish(event)
    for event in events:
        heard = await client.expect("message", event=event.event)
        assert (heard["topic"], heard["payload"]) == (topic, event.payload)


async def test_someone_else_and_a_missing_job_are_unauthorized(js, server, make_account, job_id):
    stranger = await make_account()
    client = await js()
    await client.connect(f"ws://127.0.0.1:{server.port}/socket", params={"token": stranger.token})
    for topic in (f"jobs:{job_id}", f"jobs:{job_id + 10_000}", "jobs:abc", "jobs:99999999999999999999"):
        refused = await client.join(topic)
        assert (refused["status"], refused["response"]) == ("error", {"reason": "unauthorized"}), topic
