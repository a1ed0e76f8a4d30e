"""``/socket/websocket`` with literal frames from a raw client: every reply, push and close as bytes."""

from __future__ import annotations

import asyncio
import base64
import json
import logging

import aiohttp
import psutil
import pytest
from aiohttp import WSMsgType
from aiohttp.test_utils import TestServer

from sfa.pubsub import Broadcast
from sfa.web import make_app
from sfa.web.keys import PHOENIX, PUBSUB
from sfa.web.phoenix.endpoint import LiveActors
from tests.serving import AppServer

FRAME_TIMEOUT_S = 5


@pytest.fixture
async def account(make_account):
    return await make_account()


@pytest.fixture
async def session():
    async with aiohttp.ClientSession() as client_session:
        yield client_session


def url(server: TestServer, **params: str) -> str:
    return str(server.make_url("/socket/websocket").with_query(params))


async def receive(ws: aiohttp.ClientWebSocketResponse) -> str | bytes:
    message = await ws.receive(timeout=FRAME_TIMEOUT_S)
    assert message.type in (WSMsgType.TEXT, WSMsgType.BINARY), message
    return message.data


async def closed(ws: aiohttp.ClientWebSocketResponse) -> tuple[int, str]:
    message = await ws.receive(timeout=FRAME_TIMEOUT_S)
    assert message.type == WSMsgType.CLOSE, message
    return message.data, message.extra


async def test_v2_frames_for_heartbeat_join_push_broadcast_and_leave(server, session, account):
    topic = f"user:{account.user.id}"
    async with session.ws_connect(url(server, token=account.token, vsn="2.0.0")) as ws:
        await ws.send_str('[null,"1","phoenix","heartbeat",{}]')
        assert await receive(ws) == '[null,"1","phoenix","phx_reply",{"status":"ok","response":{}}]'

        await ws.send_str(f'["2","2","{topic}","phx_join",{{}}]')
        assert await receive(ws) == f'["2","2","{topic}","phx_reply",{{"status":"ok","response":{{}}}}]'

        await ws.send_str(f'["2","3","{topic}","ping",{{"n":1}}]')
        assert await receive(ws) == f'["2","3","{topic}","phx_reply",{{"status":"ok","response":{{"n":1}}}}]'

        await server.app[PUBSUB].publish(Broadcast(topic, "user:notice", {"a": 1}))
        assert await receive(ws) == f'[null,null,"{topic}","user:notice",{{"a":1}}]'

        await ws.send_str(f'["2","4","{topic}","phx_leave",{{}}]')
        assert await receive(ws) == f'["2","4","{topic}","phx_reply",{{"status":"ok","response":{{}}}}]'
        assert await receive(ws) == f'["2","2","{topic}","phx_close",{{}}]'


async def test_v2_duplicate_join_closes_the_old_join_and_stale_pushes_are_ignored(server, session, account):
    topic = f"user:{account.user.id}"
    async with session.ws_connect(url(server, token=account.token, vsn="2.0.0")) as ws:
        await ws.send_str(f'["1","1","{topic}","phx_join",{{}}]')
        await receive(ws)
        await ws.send_str(f'["5","5","{topic}","phx_join",{{}}]')
        assert await receive(ws) == f'["1","1","{topic}","phx_close",{{}}]'
        assert await receive(ws) == f'["5","5","{topic}","phx_reply",{{"status":"ok","response":{{}}}}]'

        await ws.send_str(f'["1","6","{topic}","ping",{{}}]')
        await ws.send_str(f'["5","7","{topic}","ping",{{}}]')
        assert await receive(ws) == f'["5","7","{topic}","phx_reply",{{"status":"ok","response":{{}}}}]'
        assert server.app[PUBSUB].subscribers(topic) == 1


async def test_v2_unmatched_topics_and_leaving_what_is_not_joined(server, session, account):
    async with session.ws_connect(url(server, token=account.token, vsn="2.0.0")) as ws:
        await ws.send_str('["1","1","nowhere:1","phx_join",{}]')
        assert await receive(ws) == \
            '[null,"1","nowhere:1","phx_reply",{"status":"error","response":{"reason":"unmatched topic"}}]'
        await ws.send_str('["2","2","test:a","echo",{}]')
        assert await receive(ws) == \
            '["2","2","test:a","phx_reply",{"status":"error","response":{"reason":"unmatched topic"}}]'
        await ws.send_str('["3","3","test:a","phx_leave",{}]')
        assert await receive(ws) == '["3","3","test:a","phx_reply",{"status":"ok","response":{}}]'


async def test_v2_a_crash_sends_phx_error_on_that_topic_and_the_socket_carries_on(server, session, account, caplog):
    own = f"user:{account.user.id}"
    async with session.ws_connect(url(server, token=account.token, vsn="2.0.0")) as ws:
        await ws.send_str(f'["1","1","{own}","phx_join",{{}}]')
        await ws.send_str('["2","2","test:c","phx_join",{}]')
        await receive(ws), await receive(ws)
        with caplog.at_level(logging.ERROR):
            await ws.send_str('["2","3","test:c","boom",{}]')
            assert await receive(ws) == '["2","2","test:c","phx_error",{"reason":"channel_crash"}]'
        assert "channel test:c crashed" in caplog.text

        await ws.send_str('["2","4","test:c","echo",{}]')
        assert await receive(ws) == \
            '["2","4","test:c","phx_reply",{"status":"error","response":{"reason":"unmatched topic"}}]'
        await ws.send_str(f'["1","5","{own}","ping",{{}}]')
        assert await receive(ws) == f'["1","5","{own}","phx_reply",{{"status":"ok","response":{{}}}}]'
        await ws.send_str('["6","6","test:c","phx_join",{}]')
        assert await receive(ws) == '["6","6","test:c","phx_reply",{"status":"ok","response":{"joined":"test:c"}}]'


async def test_v2_binary_pushes_get_binary_replies_and_pushes(server, session, account):
    async with session.ws_connect(url(server, token=account.token, vsn="2.0.0")) as ws:
        await ws.send_str('["1","1","test:b","phx_join",{}]')
        await receive(ws)
        await ws.send_bytes(bytes([0, 1, 1, 6, 4]) + b"12test:becho" + b"\x00\x01\xff")
        assert await receive(ws) == bytes([1, 1, 1, 6, 2]) + b"12test:bok" + b"\x00\x01\xff"

        await ws.send_bytes(bytes([0, 1, 1, 6, 9]) + b"13test:bpush_back" + b"\xfe")
        assert await receive(ws) == bytes([0, 1, 6, 6]) + b"1test:bpushed" + b"\xfe"
        assert await receive(ws) == '["1","3","test:b","phx_reply",{"status":"ok","response":{}}]'


async def test_v1_frames_are_objects_without_join_ref(server, session, account):
    topic = f"user:{account.user.id}"
    async with session.ws_connect(url(server, token=account.token, vsn="1.0.0")) as ws:
        await ws.send_str('{"topic":"phoenix","event":"heartbeat","payload":{},"ref":"1"}')
        assert await receive(ws) == \
            '{"topic":"phoenix","event":"phx_reply","ref":"1","payload":{"status":"ok","response":{}}}'
        await ws.send_str(json.dumps({"topic": topic, "event": "phx_join", "payload": {}, "ref": "2"}))
        assert await receive(ws) == \
            f'{{"topic":"{topic}","event":"phx_reply","ref":"2","payload":{{"status":"ok","response":{{}}}}}}'
        await server.app[PUBSUB].publish(Broadcast(topic, "user:notice", {"a": 1}))
        assert await receive(ws) == f'{{"topic":"{topic}","event":"user:notice","payload":{{"a":1}},"ref":null}}'
        await ws.send_str(json.dumps({"topic": topic, "event": "phx_leave", "payload": {}, "ref": "3"}))
        assert await receive(ws) == \
            f'{{"topic":"{topic}","event":"phx_reply","ref":"3","payload":{{"status":"ok","response":{{}}}}}}'
        assert await receive(ws) == f'{{"topic":"{topic}","event":"phx_close","payload":{{}},"ref":"2"}}'


@pytest.mark.parametrize(("vsn", "frame"), [
    ("2.0.0", "not json"),
    ("2.0.0", '["1","2","t"]'),
    ("2.0.0", bytes([7, 0, 0])),
    ("2.0.0", bytes([0, 200, 0, 0, 0]) + b"short"),
    ("1.0.0", '{"topic":"t","event":"e"}'),
    ("1.0.0", b"\x00binary"),
    ("2.0.0", "[" * 3000),
    ("1.0.0", "[" * 3000),
    ("2.0.0", '[1,2,{},"x",[]]'),
    ("2.0.0", '["1","2","t","e",{"n":NaN}]'),
    ("1.0.0", '{"topic":"t","event":"e","payload":{"s":"\\ud800"},"ref":"1"}'),
])
async def test_a_malformed_frame_closes_that_socket_and_the_server_lives(server, session, account, vsn, frame):
    async with session.ws_connect(url(server, token=account.token, vsn=vsn)) as ws:
        await (ws.send_bytes(frame) if isinstance(frame, bytes) else ws.send_str(frame))
        code, reason = await closed(ws)
        assert code == 1007 and reason.startswith("invalid frame: ")
    await no_sockets_left(server)

    assert (await session.get(server.make_url("/health"))).status == 200
    async with session.ws_connect(url(server, token=account.token, vsn="2.0.0")) as ws:
        await ws.send_str('[null,"1","phoenix","heartbeat",{}]')
        assert await receive(ws) == '[null,"1","phoenix","phx_reply",{"status":"ok","response":{}}]'


async def no_sockets_left(server: TestServer, timeout: float = FRAME_TIMEOUT_S) -> None:
    async with asyncio.timeout(timeout):
        while server.app[PHOENIX].sockets:
            await asyncio.sleep(0.02)


@pytest.mark.parametrize("join_payload", [{"refuse_unencodable": True}, {"accept_unencodable": True}])
async def test_a_join_whose_reply_cannot_be_sent_is_answered_join_crashed(server, session, account, join_payload,
                                                                           caplog):
    async with session.ws_connect(url(server, token=account.token, vsn="2.0.0")) as ws:
        with caplog.at_level(logging.ERROR):
            await ws.send_str(f'["1","1","test:j","phx_join",{json.dumps(join_payload)}]')
            assert await receive(ws) == \
                '["1","1","test:j","phx_reply",{"status":"error","response":{"reason":"join crashed"}}]'
        assert "bytes are not JSON" in caplog.text
        await ws.send_str('[null,"2","phoenix","heartbeat",{}]')
        assert await receive(ws) == '[null,"2","phoenix","phx_reply",{"status":"ok","response":{}}]'
        assert server.app[PHOENIX].live_actors() == LiveActors(sockets=1, channels=0)
        assert server.app[PUBSUB].subscribers("test:j") == 0


async def test_a_bug_in_the_sockets_own_work_closes_it_with_1011_logged_once(server, session, account, caplog):
    async with session.ws_connect(url(server, token=account.token, vsn="2.0.0")) as ws:
        with caplog.at_level(logging.ERROR):
            await ws.send_str('["1","1","broken:1","phx_join",{}]')
            assert await closed(ws) == (1011, "internal error")
    await no_sockets_left(server)
    [crash] = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert crash.getMessage() == f"socket of user {account.user.id} crashed"
    assert "channel class broken on purpose" in caplog.text


def subprotocol(token: str) -> str:
    return "base64url.bearer.phx." + base64.urlsafe_b64encode(token.encode()).decode().rstrip("=")


async def test_the_token_in_the_subprotocol_connects_and_phoenix_is_echoed(server, session, account):
    async with session.ws_connect(url(server, vsn="2.0.0"), protocols=("phoenix", subprotocol(account.token))) as ws:
        assert ws.protocol == "phoenix"
        await ws.send_str(f'["1","1","user:{account.user.id}","phx_join",{{}}]')
        assert json.loads(await receive(ws))[4]["status"] == "ok"


@pytest.mark.parametrize("connect", [
    pytest.param({"params": {"token": "sfa_wrong", "vsn": "2.0.0"}}, id="bad-token"),
    pytest.param({"params": {"vsn": "2.0.0"}}, id="no-credentials"),
    pytest.param({"params": {"vsn": "2.0.0"}, "protocols": ("phoenix", subprotocol("sfa_wrong"))},
                 id="bad-subprotocol-token"),
    pytest.param({"params": {"vsn": "2.0.0"}, "protocols": ("phoenix", "base64url.bearer.phx.%%%")},
                 id="undecodable-subprotocol-token"),
    pytest.param({"params": {"vsn": "3.0.0"}}, id="unknown-vsn"),
])
async def test_a_refused_connection_is_403_before_any_upgrade(server, session, account, connect):
    params = dict(connect["params"])
    if connect["params"].get("vsn") == "3.0.0":
        params["token"] = account.token
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await session.ws_connect(url(server, **params), protocols=connect.get("protocols", ()))
    assert refused.value.status == 403
    assert server.app[PHOENIX].sockets == set()


@pytest.fixture
async def quick_server(phoenix_config, database):
    app = make_app(phoenix_config.replace(socket_idle_timeout_s=0.5), database)
    async with AppServer(app) as test_server:
        yield test_server


async def test_a_silent_socket_is_closed_and_a_heartbeating_one_is_not(quick_server, session, account):
    async with session.ws_connect(url(quick_server, token=account.token, vsn="2.0.0")) as chatty, \
            session.ws_connect(url(quick_server, token=account.token, vsn="2.0.0")) as silent:
        for ref in range(1, 6):
            await chatty.send_str(f'[null,"{ref}","phoenix","heartbeat",{{}}]')
            await receive(chatty)
            await asyncio.sleep(0.25)
        assert await closed(silent) == (1000, "idle timeout")
        assert not chatty.closed
    await no_sockets_left(quick_server)


def masked_text_frame(text: str) -> bytes:
    """A client's WebSocket text frame, masked with a zero key (which leaves the payload as it is)."""
    data = text.encode()
    length = bytes([0x80 | len(data)]) if len(data) < 126 else bytes([0x80 | 126]) + len(data).to_bytes(2, "big")
    return bytes([0x81]) + length + b"\0\0\0\0" + data


async def test_a_client_that_stops_reading_is_disconnected_and_memory_stays_bounded(server, account, caplog):
    """A raw TCP client that completes the upgrade, asks for ~256 MB of pushes, then never reads."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write((f"GET /socket/websocket?vsn=2.0.0&token={account.token} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n").encode())
    assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 101")
    rss_before = psutil.Process().memory_info().rss
    with caplog.at_level(logging.WARNING):
        writer.write(masked_text_frame('["1","1","test:flood","phx_join",{}]'))
        writer.write(masked_text_frame('["1","2","test:flood","flood",{"count":4000,"size":65536}]'))
        await no_sockets_left(server, timeout=30)
    grown = psutil.Process().memory_info().rss - rss_before
    assert "outbox full" in caplog.text
    assert grown < 100 * 2**20, f"the server grew {grown / 2**20:.0f} MiB for a client that does not read"
    writer.close()


async def test_shutdown_closes_every_socket_with_1012_without_waiting_for_the_grace_period(phoenix_app, session,
                                                                                          account):
    test_server = AppServer(phoenix_app)
    await test_server.start_server()
    try:
        ws = await session.ws_connect(url(test_server, token=account.token, vsn="2.0.0"))
        await ws.send_str('["1","1","test:s","phx_join",{}]')
        await receive(ws)
    finally:
        async with asyncio.timeout(5):
            await test_server.close()
    assert await closed(ws) == (1012, "server shutting down")


async def test_a_channel_too_slow_for_the_broadcasts_it_intercepts_crashes_instead_of_queueing_them(
        server, session, account):
    async with session.ws_connect(url(server, token=account.token, vsn="2.0.0")) as ws:
        await ws.send_str('["1","1","loud:slow","phx_join",{}]')
        await receive(ws)
        await ws.send_str('["1","2","loud:slow","stall",{}]')
        await ws.send_str('[null,"3","phoenix","heartbeat",{}]')
        await receive(ws)
        # What it does not intercept passes it by, busy or not.
        await server.app[PUBSUB].publish(Broadcast("loud:slow", "whisper", {"text": "still here"}))
        assert await receive(ws) == '[null,null,"loud:slow","whisper",{"text":"still here"}]'
        outbox_max = server.app[PHOENIX].limits.outbox_max
        for index in range(outbox_max + 2):
            await server.app[PUBSUB].publish(Broadcast("loud:slow", "shout", {"text": str(index)}))
        assert await receive(ws) == '["1","1","loud:slow","phx_error",{"reason":"channel_crash"}]'
        assert server.app[PUBSUB].subscribers("loud:slow") == 0
