"""The contract, proven with the real `phoenix` JS client over each transport and serializer it speaks.

The JS client's LongPoll always encodes with the V2 serializer, so long-poll runs with vsn 2.0.0 here; V1
over long-poll is proven with literal frames in test_phoenix_longpoll.py.
"""

from __future__ import annotations

import pytest

from sfa.pubsub import Broadcast
from sfa.web.keys import PHOENIX, PUBSUB

TRANSPORTS = [
    pytest.param(("websocket", "2.0.0"), id="websocket-v2"),
    pytest.param(("websocket", "1.0.0"), id="websocket-v1"),
    pytest.param(("longpoll", "2.0.0"), id="longpoll-v2"),
]


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> tuple[str, str]:
    return request.param


@pytest.fixture
async def account(make_account):
    return await make_account()


@pytest.fixture
async def client(js, server, account, transport):
    """A phoenix client connected with the account's API token as the `token` param."""
    name, vsn = transport
    client = await js()
    await client.connect(f"ws://127.0.0.1:{server.port}/socket", transport=name, vsn=vsn,
                         params={"token": account.token})
    await client.expect("open")
    return client


async def test_a_user_joins_their_own_topic_and_no_one_else_s(client, account):
    assert await client.join(f"user:{account.user.id}") == {
        "ev": "join", "topic": f"user:{account.user.id}", "status": "ok", "response": {}}
    refused = await client.join(f"user:{account.user.id + 1000}")
    assert (refused["status"], refused["response"]) == ("error", {"reason": "unauthorized"})


async def test_ping_gets_an_ok_reply(client, account):
    await client.join(f"user:{account.user.id}")
    assert await client.push(f"user:{account.user.id}", "ping", {"n": 1}) == {
        "ev": "reply", "id": 1, "status": "ok", "response": {"n": 1}}


async def test_a_broadcast_on_pubsub_reaches_the_joined_client(client, account, server):
    topic = f"user:{account.user.id}"
    await client.join(topic)
    await server.app[PUBSUB].publish(Broadcast(topic, "user:notice", {"text": "hello"}))

    message = await client.expect("message", event="user:notice")
    assert (message["topic"], message["payload"], message["ref"]) == (topic, {"text": "hello"}, None)


async def test_replies_errors_and_pushes_from_the_channel(client):
    await client.join("test:replies")
    assert (await client.push("test:replies", "fail"))["response"] == {"reason": "failed on purpose"}
    assert await client.push("test:replies", "nonsense") == {
        "ev": "reply", "id": 2, "status": "error", "response": {"reason": "unhandled event 'nonsense'"}}

    assert (await client.push("test:replies", "push_back", {"k": "v"}))["status"] == "ok"
    pushed = await client.expect("message", event="pushed")
    assert pushed["payload"] == {"k": "v"}


async def test_refused_and_crashed_joins_answer_with_an_error(client):
    assert (await client.join("test:refused", {"refuse": "nope"}))["response"] == {"reason": "nope"}
    assert (await client.join("test:crashing", {"crash": True}))["response"] == {"reason": "join crashed"}


async def test_an_unrouted_topic_is_an_unmatched_topic(client):
    answer = await client.join("nowhere:1")
    assert (answer["status"], answer["response"]) == ("error", {"reason": "unmatched topic"})


async def test_leave_closes_the_channel_on_both_ends(client, account, server):
    topic = f"user:{account.user.id}"
    await client.join(topic)
    await client.send("leave", topic=topic)
    await client.expect("left", topic=topic)
    close = await client.expect("message", event="phx_close")
    assert close["topic"] == topic

    [socket] = server.app[PHOENIX].sockets
    assert socket._channels == {}
    assert server.app[PUBSUB].subscribers(topic) == 0


@pytest.mark.parametrize("event", ["boom", "bad_shape"])
async def test_a_crashing_handler_errors_its_topic_only_and_the_client_rejoins(client, account, server, event):
    own = f"user:{account.user.id}"
    await client.join(own)
    await client.join("test:crashy")

    await client.send("push", id=99, topic="test:crashy", event=event, payload={})
    error = await client.expect("message", event="phx_error")
    assert (error["topic"], error["payload"]) == ("test:crashy", {"reason": "channel_crash"})
    await client.expect("channel_error", topic="test:crashy")

    rejoined = await client.expect("join", topic="test:crashy")
    assert rejoined["status"] == "ok"
    assert (await client.push("test:crashy", "echo", {"again": True}))["response"] == {"again": True}
    assert (await client.push(own, "ping"))["status"] == "ok"
    trouble = {"channel_error", "channel_close", "phx_error", "phx_close"}
    events = await client.collect(0.3)
    assert [e for e in events if e.get("topic") == own and {e["ev"], e.get("event")} & trouble] == []
    [socket] = server.app[PHOENIX].sockets
    assert set(socket._channels) == {own, "test:crashy"}


async def test_binary_payloads_round_trip_in_v2_frames(client, transport):
    if transport != ("websocket", "2.0.0"):
        pytest.skip("binary frames are V2 over WebSocket (the JS LongPoll cannot read binary replies)")
    await client.join("test:binary")
    reply = await client.push("test:binary", "echo", {"base64": "AAEC/w=="})
    assert reply == {"ev": "reply", "id": 1, "status": "ok", "response": {"base64": "AAEC/w=="}}


async def test_heartbeats_are_answered_on_topic_phoenix(js, server, account, transport):
    name, vsn = transport
    if name == "longpoll":
        pytest.skip("the client sends no heartbeats over long-poll")
    client = await js()
    await client.connect(f"ws://127.0.0.1:{server.port}/socket", transport=name, vsn=vsn,
                         params={"token": account.token}, heartbeatIntervalMs=100)
    for _ in range(3):
        reply = await client.expect("message", topic="phoenix")
        assert (reply["event"], reply["payload"]) == ("phx_reply", {"status": "ok", "response": {}})


async def test_the_auth_token_option_connects(js, server, account, transport):
    """``authToken`` travels as the subprotocol (WebSocket) or the X-Phoenix-AuthToken header (long-poll)."""
    name, vsn = transport
    client = await js()
    await client.connect(f"ws://127.0.0.1:{server.port}/socket", transport=name, vsn=vsn,
                         authToken=account.token)
    await client.expect("open")
    assert (await client.join(f"user:{account.user.id}"))["status"] == "ok"


async def test_a_bad_token_is_refused_and_opens_nothing(js, server, transport):
    name, vsn = transport
    client = await js()
    await client.connect(f"ws://127.0.0.1:{server.port}/socket", transport=name, vsn=vsn,
                         params={"token": "sfa_not-a-real-token"})
    await client.expect("error")
    await client.expect("close")
    assert not any(e["ev"] == "open" for e in client.events)
    assert server.app[PHOENIX].sockets == set()
