"""A long-poll connection served by whichever node a request reaches: signed tokens, PubSub to the owner."""

from __future__ import annotations

import asyncio
import time

import aiohttp

from sfa.accounts.signing import derive_key
from sfa.pubsub import Broadcast
from sfa.web.keys import PUBSUB, SOCKET_TOKEN_KEY
from sfa.web.phoenix.transports.longpoll import CONNECTIONS
from sfa.web.phoenix.transports.longpoll_connections import PUBSUB_TIMEOUT_S, connection_token, token_topic

HEARTBEAT = '["1","1","phoenix","heartbeat",{}]'


async def request(base: str, method: str, token: str, body: str | None = None) -> dict:
    async with aiohttp.ClientSession() as http, http.request(
            method, f"{base}/socket/longpoll", params={"token": token}, data=body,
            headers={"content-type": "application/x-ndjson"} if body else {}) as response:
        assert response.status == 200
        return await response.json()


async def open_connection(base: str, account) -> str:
    async with aiohttp.ClientSession() as http, http.get(
            f"{base}/socket/longpoll", params={"vsn": "2.0.0"}, headers={"X-Phoenix-AuthToken": account.token}) as r:
        opened = await r.json()
    assert opened["status"] == 410
    return opened["token"]


async def test_a_client_alternating_between_nodes_gets_every_message_once_in_order(server, other_node, owner):
    nodes = [str(server.make_url("")), str(other_node.make_url(""))]
    token = await open_connection(nodes[0], owner)
    topic = f"user:{owner.user.id}"
    assert await request(nodes[1], "POST", token, f'["1","1","{topic}","phx_join",{{}}]\n') == {"status": 200}
    joined = await request(nodes[1], "GET", token)
    assert joined == {"status": 200, "token": token,
                      "messages": [f'["1","1","{topic}","phx_reply",{{"status":"ok","response":{{}}}}]']}

    async def publish() -> None:
        for n in range(30):
            await server.app[PUBSUB].publish(Broadcast(topic, "user:notice", {"n": n}))
            await asyncio.sleep(0.01)

    publishing = asyncio.create_task(publish())
    received, polls = [], 0
    while len(received) < 30:
        polled = await request(nodes[polls % 2], "GET", token)
        assert polled["status"] in (200, 204) and polled["token"] == token
        received += polled["messages"]
        polls += 1
    await publishing

    assert received == [f'[null,null,"{topic}","user:notice",{{"n":{n}}}]' for n in range(30)]
    assert await request(nodes[1], "GET", token) == {"status": 204, "token": token, "messages": []}


async def test_a_forged_token_is_refused_without_asking_anyone(server, other_node, owner):
    token = await open_connection(str(server.make_url("")), owner)
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")

    assert await request(str(other_node.make_url("")), "POST", forged, HEARTBEAT) == {"status": 410}


async def test_a_connection_that_ended_is_gone_at_once_on_every_node(server, other_node, owner):
    base = str(server.make_url(""))
    token = await open_connection(base, owner)
    assert (await request(str(other_node.make_url("")), "GET", token))["status"] == 204  # it lives...
    await server.app.shutdown()  # ...until its node closes it, and says so
    async with asyncio.timeout(5):
        while not other_node.app[CONNECTIONS].gone(token_topic(token)):
            await asyncio.sleep(0.01)

    started = time.monotonic()
    assert await request(str(other_node.make_url("")), "POST", token, HEARTBEAT) == {"status": 410}
    assert time.monotonic() - started < PUBSUB_TIMEOUT_S / 2


async def test_a_connection_whose_node_vanished_is_gone_once_nobody_answers(server, other_node):
    """A validly signed token naming a connection no node holds, as after its node died without a word."""
    token = connection_token(derive_key(server.app[SOCKET_TOKEN_KEY], "long-poll connection"), "nobody-holds-this")

    started = time.monotonic()
    assert await request(str(other_node.make_url("")), "POST", token, HEARTBEAT) == {"status": 410}
    assert PUBSUB_TIMEOUT_S <= time.monotonic() - started < PUBSUB_TIMEOUT_S + 2
