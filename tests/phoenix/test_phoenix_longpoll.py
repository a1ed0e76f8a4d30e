"""``/socket/longpoll`` exchanged by hand: statuses in the body, frames as strings, connections by token."""

from __future__ import annotations

import asyncio
import base64

import aiohttp
import pytest

from sfa.web.keys import PHOENIX

JSON_HEADERS = {"content-type": "application/json; charset=utf-8", "cache-control": "no-store",
                "access-control-allow-origin": "*"}


@pytest.fixture
async def account(make_account):
    return await make_account()


async def call(http: aiohttp.ClientSession, method: str, *, token: str | None = None, body: str | None = None,
               content_type: str = "application/x-ndjson", **params: str) -> dict:
    query = {**params, **({"token": token} if token else {})}
    headers = {"content-type": content_type} if body is not None else {}
    async with http.request(method, "/socket/longpoll", params=query, data=body, headers=headers) as response:
        assert response.status == 200
        assert {k: response.headers[k] for k in JSON_HEADERS} == JSON_HEADERS
        return await response.json()


async def open_connection(http: aiohttp.ClientSession, account, vsn: str = "2.0.0") -> str:
    async with http.get("/socket/longpoll", params={"vsn": vsn},
                        headers={"X-Phoenix-AuthToken": account.token}) as response:
        opened = await response.json()
    assert opened["status"] == 410 and opened["messages"] == []
    return opened["token"]


async def test_options_answers_cors_and_other_methods_are_400(http):
    async with http.options("/socket/longpoll", headers={"access-control-request-headers": "x-phoenix-authtoken"}) \
            as response:
        assert response.status == 200
        assert response.headers["access-control-allow-headers"] == "x-phoenix-authtoken"
        assert response.headers["access-control-allow-methods"] == "get, post, options"
        assert response.headers["access-control-max-age"] == "3600"
    async with http.put("/socket/longpoll") as response:
        assert response.status == 400


async def test_a_v2_connection_posts_frames_and_polls_replies(http, account):
    token = await open_connection(http, account)
    topic = f"user:{account.user.id}"
    body = f'[null,"1","phoenix","heartbeat",{{}}]\n["2","2","{topic}","phx_join",{{}}]\n'
    assert await call(http, "POST", token=token, body=body) == {"status": 200}

    polled = await call(http, "GET", token=token)
    assert polled == {"status": 200, "token": token, "messages": [
        '[null,"1","phoenix","phx_reply",{"status":"ok","response":{}}]',
        f'["2","2","{topic}","phx_reply",{{"status":"ok","response":{{}}}}]',
    ]}
    assert await call(http, "GET", token=token) == {"status": 204, "token": token, "messages": []}


async def test_binary_lines_are_base64_frames_both_ways(http, account):
    token = await open_connection(http, account)
    await call(http, "POST", token=token, body='["1","1","test:b","phx_join",{}]')
    frame = bytes([0, 1, 1, 6, 4]) + b"12test:becho" + b"\x00\xff"
    assert await call(http, "POST", token=token, body=base64.b64encode(frame).decode()) == {"status": 200}

    messages = []
    while len(messages) < 2:
        messages += (await call(http, "GET", token=token))["messages"]
    assert base64.b64decode(messages[1]) == bytes([1, 1, 1, 6, 2]) + b"12test:bok" + b"\x00\xff"


async def test_a_v1_connection_takes_one_object_per_post(http, account):
    token = await open_connection(http, account, vsn="1.0.0")
    frame = '{"topic":"phoenix","event":"heartbeat","payload":{},"ref":"7"}'
    assert await call(http, "POST", token=token, body=frame, content_type="application/json") == {"status": 200}
    assert (await call(http, "GET", token=token))["messages"] == [
        '{"topic":"phoenix","event":"phx_reply","ref":"7","payload":{"status":"ok","response":{}}}']


async def test_the_auth_token_may_be_a_query_param_beside_the_connection_token(http, account):
    """What the JS client sends with ``params: {token}``: ``?token=<auth>&vsn=2.0.0&token=null``."""
    async with http.get(f"/socket/longpoll?token={account.token}&vsn=2.0.0&token=null") as response:
        opened = await response.json()
    assert opened["status"] == 410
    async with http.get(f"/socket/longpoll?token={account.token}&vsn=2.0.0&token={opened['token']}") as response:
        assert (await response.json())["status"] == 204


async def test_refused_and_unknown_connections(http, server):
    async with http.get("/socket/longpoll", params={"vsn": "2.0.0"},
                        headers={"X-Phoenix-AuthToken": "sfa_wrong"}) as response:
        assert await response.json() == {"status": 403}
    assert await call(http, "POST", token="no-such-connection", body="[]") == {"status": 410}
    assert server.app[PHOENIX].sockets == set()


async def test_a_connection_without_polls_for_one_and_a_half_windows_ends(http, server, account):
    token = await open_connection(http, account)
    [socket] = server.app[PHOENIX].sockets
    await asyncio.wait_for(asyncio.shield(socket.closed), timeout=5)
    assert socket.closed.result().reason == "idle timeout"
    assert await call(http, "POST", token=token, body="[]") == {"status": 410}


async def test_a_bug_in_the_sockets_own_work_ends_the_connection(http, server, account):
    token = await open_connection(http, account)
    [socket] = server.app[PHOENIX].sockets
    assert await call(http, "POST", token=token, body='["1","1","broken:1","phx_join",{}]') == {"status": 200}
    await asyncio.wait_for(asyncio.shield(socket.closed), timeout=5)
    assert (socket.closed.result().code, socket.closed.result().reason) == (1011, "internal error")
    assert await call(http, "POST", token=token, body='[null,"1","phoenix","heartbeat",{}]') == {"status": 410}
    assert server.app[PHOENIX].sockets == set()


async def test_a_frame_that_does_not_decode_ends_the_connection_and_the_client_is_told_to_reopen(http, server,
                                                                                              account):
    token = await open_connection(http, account)
    [socket] = server.app[PHOENIX].sockets
    assert await call(http, "POST", token=token, body="[" * 3000) == {"status": 200}
    await asyncio.wait_for(asyncio.shield(socket.closed), timeout=5)
    assert socket.closed.result().code == 1007
    assert await call(http, "POST", token=token, body='[null,"1","phoenix","heartbeat",{}]') == {"status": 410}
    async with http.get("/socket/longpoll", params={"vsn": "2.0.0", "token": token},
                        headers={"X-Phoenix-AuthToken": account.token}) as response:
        reopened = await response.json()
    assert reopened["status"] == 410 and reopened["token"] != token
    assert socket not in server.app[PHOENIX].sockets
