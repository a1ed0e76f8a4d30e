"""The fastlane over real sockets: one broadcast is encoded once per serializer, whatever the number of
sockets, and the same frame reaches each of them; a channel's intercepted events still go through its own
``handle_out``, per socket."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
from aiohttp import WSMsgType

from sfa.pubsub import Broadcast
from sfa.web.keys import PUBSUB
from sfa.web.phoenix import Channel
from sfa.web.phoenix.serializers import SERIALIZERS
from sfa.web.phoenix.transports.websocket import wire_frame

FRAME_TIMEOUT_S = 5
SOCKETS_PER_VSN = 4


@pytest.fixture
async def account(make_account):
    return await make_account()


@pytest.fixture
def encodes(monkeypatch) -> dict[str, int]:
    """Broadcast encodes per serializer version, counted on the serializers every socket shares."""
    counts = {serializer.vsn: 0 for serializer in SERIALIZERS}
    for serializer in SERIALIZERS:
        original = type(serializer).encode

        def counting(self, message, original=original):
            if isinstance(message, Broadcast):
                counts[self.vsn] += 1
            return original(self, message)

        monkeypatch.setattr(type(serializer), "encode", counting)
    return counts


async def receive(ws: aiohttp.ClientWebSocketResponse) -> str | bytes:
    message = await ws.receive(timeout=FRAME_TIMEOUT_S)
    assert message.type in (WSMsgType.TEXT, WSMsgType.BINARY), message
    return message.data


async def join(ws: aiohttp.ClientWebSocketResponse, vsn: str, topic: str, ref: str) -> None:
    if vsn == "2.0.0":
        await ws.send_str(json.dumps([ref, ref, topic, "phx_join", {}]))
    else:
        await ws.send_str(json.dumps({"topic": topic, "event": "phx_join", "payload": {}, "ref": ref}))
    assert '"ok"' in await receive(ws)


async def test_one_encode_per_serializer_however_many_sockets(server, account, encodes):
    topic = "loud:room"
    async with aiohttp.ClientSession() as session:
        sockets = []
        for vsn in ("1.0.0", "2.0.0"):
            for index in range(SOCKETS_PER_VSN):
                url = server.make_url("/socket/websocket").with_query(token=account.token, vsn=vsn)
                ws = await session.ws_connect(url)
                await join(ws, vsn, topic, str(index + 1))
                sockets.append((vsn, ws))

        await server.app[PUBSUB].publish(Broadcast(topic, "whisper", {"text": "hi"}))
        frames = {vsn: {await receive(ws) for v, ws in sockets if v == vsn} for vsn in ("1.0.0", "2.0.0")}

        assert frames == {
            "1.0.0": {'{"topic":"loud:room","event":"whisper","payload":{"text":"hi"},"ref":null}'},
            "2.0.0": {'[null,null,"loud:room","whisper",{"text":"hi"}]'},
        }
        assert encodes == {"1.0.0": 1, "2.0.0": 1}
        for _, ws in sockets:
            await ws.close()


async def test_intercepted_events_go_through_each_channels_handle_out(server, account, encodes):
    topic = "loud:hall"
    async with aiohttp.ClientSession() as session:
        url = server.make_url("/socket/websocket").with_query(token=account.token, vsn="2.0.0")
        async with session.ws_connect(url) as first, session.ws_connect(url) as second:
            await join(first, "2.0.0", topic, "7")
            await join(second, "2.0.0", topic, "8")

            await server.app[PUBSUB].publish(Broadcast(topic, "shout", {"text": "hey"}))
            await server.app[PUBSUB].publish(Broadcast(topic, "whisper", {"text": "psst"}))

            assert [await receive(first), await receive(first)] == [
                '["7",null,"loud:hall","shout",{"text":"HEY","by":"7"}]',
                '[null,null,"loud:hall","whisper",{"text":"psst"}]']
            assert [await receive(second), await receive(second)] == [
                '["8",null,"loud:hall","shout",{"text":"HEY","by":"8"}]',
                '[null,null,"loud:hall","whisper",{"text":"psst"}]']
            # The pushes each channel made are encoded per socket; the shared broadcast once.
            assert encodes["2.0.0"] == 1


async def test_a_slow_reader_gets_every_frame_in_order_through_the_outbox(server, account):
    topic = "loud:queue"
    async with aiohttp.ClientSession() as session:
        url = server.make_url("/socket/websocket").with_query(token=account.token, vsn="2.0.0")
        async with session.ws_connect(url) as ws:
            await join(ws, "2.0.0", topic, "1")
            blob = "x" * 20_000
            for index in range(40):
                await server.app[PUBSUB].publish(Broadcast(topic, "whisper", {"text": blob, "i": index}))
            await asyncio.sleep(0.2)
            received = [json.loads(await receive(ws))[4]["i"] for _ in range(40)]
            assert received == list(range(40))


def test_a_channel_with_handle_out_must_name_what_it_intercepts():
    with pytest.raises(TypeError, match="intercepts no event"):
        class Deaf(Channel):
            async def handle_out(self, broadcast: Broadcast) -> None:
                return None


def test_wire_frames_are_rfc_6455_server_frames():
    assert wire_frame("hi") == b"\x81\x02hi"
    assert wire_frame(b"\x00" * 200)[:4] == b"\x82\x7e\x00\xc8"
    assert wire_frame("x" * 70_000)[:10] == b"\x81\x7f" + (70_000).to_bytes(8, "big")
