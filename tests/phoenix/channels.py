"""Test-only channels: ``test:*`` with one event per behaviour the channel layer must show, and ``broken:*``,
a channel class that cannot even be built (a bug in the socket's own work, not in a channel actor)."""

from __future__ import annotations

import asyncio
from typing import Any

from sfa.pubsub import Broadcast
from sfa.web.phoenix import Channel, Error, JoinRefused, Ok, handles
from sfa.web.phoenix.message import Payload


class ProbeChannel(Channel):
    async def join(self, payload: Payload) -> dict[str, Any]:
        match payload:
            case {"refuse": reason}:
                raise JoinRefused({"reason": reason})
            case {"crash": True}:
                raise RuntimeError("join blew up on purpose")
            case {"refuse_unencodable": True}:
                raise JoinRefused({"reason": b"bytes are not JSON"})
            case {"accept_unencodable": True}:
                return {"joined": b"bytes are not JSON"}
        return {"joined": self.topic}

    @handles("echo")
    async def echo(self, payload: Payload) -> Ok:
        return Ok(payload)

    @handles("fail")
    async def fail(self, payload: Payload) -> Error:
        return Error({"reason": "failed on purpose"})

    @handles("silent")
    async def silent(self, payload: Payload) -> None:
        return None

    @handles("boom")
    async def boom(self, payload: Payload) -> None:
        raise RuntimeError("handler blew up on purpose")

    @handles("bad_shape")
    async def bad_shape(self, payload: Payload) -> int:
        return 42

    @handles("push_back")
    async def push_back(self, payload: Payload) -> Ok:
        self.push("pushed", payload)
        return Ok()

    @handles("stall")
    async def stall(self, payload: Payload) -> None:
        await asyncio.Event().wait()

    @handles("flood")
    async def flood(self, payload: Payload) -> None:
        blob = "x" * payload["size"]
        for index in range(payload["count"]):
            self.push("blob", {"index": index, "blob": blob})


class UnbuildableChannel(Channel):
    def __init__(self, *args: Any) -> None:
        raise RuntimeError("channel class broken on purpose")


class LoudChannel(ProbeChannel):
    """``loud:*``: intercepts ``shout`` to send it upper-cased; every other broadcast takes the fastlane."""

    intercepts = frozenset({"shout"})

    async def handle_out(self, broadcast: Broadcast) -> None:
        self.push(broadcast.event, {"text": broadcast.payload["text"].upper(), "by": self.join_ref})
