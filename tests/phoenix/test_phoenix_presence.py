"""Each user's joined topics live in their UserPresence actor, counted across their sockets."""

import asyncio

import pytest

from sfa.web.keys import ACTOR_TREE


@pytest.fixture
def app(app, tree):
    app[ACTOR_TREE] = tree
    return app


async def topics(tree, user_id: int) -> list[str]:
    """The topics the supervision tree shows for the user's presence."""
    await asyncio.sleep(0.05)
    [node] = [child for child in tree.presences.snapshot()["children"] if child["name"] == f"presence:user:{user_id}"]
    return node["topics"]


async def join(ws, topic: str, ref: str) -> dict:
    await ws.send_str(f'["{ref}","{ref}","{topic}","phx_join",{{}}]')
    return (await ws.receive_json(timeout=5))[4]


async def test_joins_and_leaves_across_two_sockets_are_counted_in_the_users_presence(client, tree, make_account):
    account = await make_account()
    topic = f"user:{account.user.id}"
    first = await client.ws_connect(f"/socket/websocket?vsn=2.0.0&token={account.token}")
    second = await client.ws_connect(f"/socket/websocket?vsn=2.0.0&token={account.token}")

    assert await join(first, topic, "1") == {"status": "ok", "response": {}}
    assert await join(second, topic, "1") == {"status": "ok", "response": {}}
    assert await topics(tree, account.user.id) == [topic]

    await first.close()
    assert await topics(tree, account.user.id) == [topic]

    await second.send_str(f'["1","2","{topic}","phx_leave",{{}}]')
    assert (await second.receive_json(timeout=5))[3] == "phx_reply"
    assert await topics(tree, account.user.id) == []
    await second.close()
