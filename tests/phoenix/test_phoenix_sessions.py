"""Each user's channel subscriptions live in their UserSession actor, counted across their sockets."""

import asyncio

import pytest

from sfa.actors.session import Subscriptions
from sfa.web.keys import ACTOR_TREE


@pytest.fixture
def app(app, tree):
    app[ACTOR_TREE] = tree
    return app


async def subscriptions(tree, user_id: int) -> frozenset:
    await asyncio.sleep(0.05)
    return await (await tree.sessions.session(f"user:{user_id}")).ask(Subscriptions())


async def join(ws, topic: str, ref: str) -> dict:
    await ws.send_str(f'["{ref}","{ref}","{topic}","phx_join",{{}}]')
    return (await ws.receive_json(timeout=5))[4]


async def test_joins_and_leaves_across_two_sockets_are_counted_in_the_users_session(client, tree, make_account):
    account = await make_account()
    topic = f"user:{account.user.id}"
    first = await client.ws_connect(f"/socket/websocket?vsn=2.0.0&token={account.token}")
    second = await client.ws_connect(f"/socket/websocket?vsn=2.0.0&token={account.token}")

    assert await join(first, topic, "1") == {"status": "ok", "response": {}}
    assert await join(second, topic, "1") == {"status": "ok", "response": {}}
    assert await subscriptions(tree, account.user.id) == {topic}
    assert f"session:user:{account.user.id}" in [c["name"] for c in tree.sessions.snapshot()["children"]]

    await first.close()
    assert await subscriptions(tree, account.user.id) == {topic}

    await second.send_str(f'["1","2","{topic}","phx_leave",{{}}]')
    assert (await second.receive_json(timeout=5))[3] == "phx_reply"
    assert await subscriptions(tree, account.user.id) == frozenset()
    await second.close()
