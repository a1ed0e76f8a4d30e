"""Fuzzed frames on every transport: whatever a client sends, its connection ends closed (1007, or 1013 for a
client that falls behind) or still answering heartbeats, the server keeps answering, and once the clients
are gone no socket or channel actor is left.

Hypothesis drives the cases from a worker thread, each case running on the test's event loop against the
live server, so the checks after the whole fuzz run in the test itself.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import math
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any

import aiohttp
import pytest
from aiohttp import WSMsgType
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from sfa.web.keys import PHOENIX
from sfa.web.phoenix.endpoint import LiveActors

pytestmark = pytest.mark.embedded_only

CASE_TIMEOUT_S = 15
ACTORS_GONE_TIMEOUT_S = 20
HEARTBEAT_REF = "fuzz-heartbeat"
HUGE_MAX = 1_000_000
CLIENT_CLOSE_CODES = {1007: "invalid frame", 1013: "outbox full"}
EVENTS = ["phx_join", "phx_leave", "heartbeat", "ping", "echo", "push_back", "fail", "silent", "boom",
          "bad_shape", "nope"]

WEBSOCKET_V1, WEBSOCKET_V2, LONGPOLL_V1, LONGPOLL_V2 = TRANSPORTS = (
    ("websocket", "1.0.0"), ("websocket", "2.0.0"), ("longpoll", "1.0.0"), ("longpoll", "2.0.0"))


@dataclass(frozen=True, repr=False)
class Case:
    transport: str
    vsn: str
    frames: tuple[str | bytes, ...]

    def __repr__(self) -> str:
        """Short enough to read in a failure: frames of up to a megabyte are cut."""
        frames = ", ".join(repr(frame[:100]) + (f"[:100] of {len(frame)}" if len(frame) > 100 else "")
                           for frame in self.frames)
        return f"Case({self.transport!r}, {self.vsn!r}, ({frames}))"


@dataclass(frozen=True)
class Push:
    """A frame with the protocol's fields, laid out as the case's version does: V2 sends a bytes payload in a
    binary frame when its fields allow one, V1 (which has none) as an object of its hex."""

    join_ref: Any
    ref: Any
    topic: Any
    event: Any
    payload: Any

    def frame(self, vsn: str) -> str | bytes:
        fields = (self.join_ref, self.ref, self.topic, self.event)
        if vsn == "2.0.0" and isinstance(self.payload, bytes) and all(isinstance(f, str | None) for f in fields):
            encoded = [(field or "").encode("utf-8", "surrogatepass")[:255] for field in fields]
            return bytes([0, *map(len, encoded)]) + b"".join(encoded) + self.payload
        payload = {"hex": self.payload.hex()} if isinstance(self.payload, bytes) else self.payload
        if vsn == "1.0.0":
            return json.dumps({"topic": self.topic, "event": self.event, "payload": payload, "ref": self.ref,
                               "join_ref": self.join_ref})
        return json.dumps([self.join_ref, self.ref, self.topic, self.event, payload])


def json_values(*, finite: bool) -> st.SearchStrategy[Any]:
    """Any JSON value, small. ``finite=False`` lets in what ``json.dumps`` writes but JSON has not: NaN, the
    infinities, and lone UTF-16 surrogates (as ``\\udxxx`` escapes)."""
    floats = st.floats(allow_nan=not finite, allow_infinity=not finite)
    text = st.text(max_size=20) if finite else st.text(st.characters() | st.characters(categories=["Cs"]), max_size=20)
    return st.recursive(
        st.none() | st.booleans() | st.integers() | floats | text,
        lambda children: st.lists(children, max_size=4) | st.dictionaries(text, children, max_size=4),
        max_leaves=16,
    )


any_json = json_values(finite=False)
objects = st.dictionaries(st.text(max_size=8), json_values(finite=True), max_size=4)
huge_text = st.builds(lambda chunk, size: (chunk * size)[:size], st.text(min_size=1, max_size=4),
                      st.sampled_from([256, 65_536, HUGE_MAX]) | st.integers(256, HUGE_MAX))
depths = st.sampled_from([63, 64, 65, 1000, 3000]) | st.integers(1, 5000)
refs = st.none() | st.sampled_from(["1", "2", "3"])
FIELDS = ("join_ref", "ref", "topic", "event", "payload")


def joins(topics: list[str]) -> st.SearchStrategy[Push]:
    """A join as the JS client sends it (its ref is its join_ref), so that later pushes reach a channel."""
    return st.builds(lambda ref, topic, payload: Push(ref, ref, topic, "phx_join", payload),
                     st.sampled_from(["1", "2", "3"]), st.sampled_from(topics), objects)


def well_formed(topics: list[str]) -> st.SearchStrategy[Push]:
    """Joins, leaves, pushes and heartbeats on real topics with a few refs, so that they interleave."""
    return st.builds(Push, join_ref=refs, ref=refs, topic=st.sampled_from([*topics, "phoenix"]),
                     event=st.sampled_from(EVENTS), payload=objects | st.binary(max_size=64))


def mistyped(topics: list[str]) -> st.SearchStrategy[Push]:
    """A well-formed push with one field of a wrong type, holding what JSON has not, or huge (up to 1 MB)."""
    def corrupt(push: Push, field: str, value: Any) -> Push:
        return replace(push, **{field: {"blob": value} if field == "payload" and isinstance(value, str) else value})

    not_json = st.sampled_from([math.nan, math.inf, -math.inf, "\ud800", "\udfff"])
    wrong = any_json | huge_text | not_json | st.dictionaries(st.text(max_size=8), any_json | not_json, min_size=1,
                                                             max_size=4)
    return st.builds(corrupt, well_formed(topics), st.sampled_from(FIELDS), wrong)


def nested(topics: list[str], vsn: str) -> st.SearchStrategy[str]:
    """An echo whose payload nests lists ``depth`` deep: around the limit, and far past it."""
    def frame(topic: str, depth: int) -> str:
        payload = '{"deep":' + "[" * depth + "]" * depth + "}"
        if vsn == "1.0.0":
            return f'{{"topic":{json.dumps(topic)},"event":"echo","ref":"1","payload":{payload}}}'
        return f'["1","1",{json.dumps(topic)},"echo",{payload}]'

    return st.builds(frame, st.sampled_from(topics), depths)


def garbage() -> st.SearchStrategy[str | bytes]:
    """What is no frame at all: random bytes and text, brackets that never close, JSON of any shape, binary
    headers of any kind and sizes."""
    return st.one_of(
        st.binary(max_size=300),
        st.text(max_size=300),
        depths.map(lambda depth: "[" * depth),
        depths.map(lambda depth: '{"a":' * depth + "1" + "}" * depth),
        any_json.map(json.dumps),
        st.lists(any_json, max_size=7).map(json.dumps),
        st.tuples(st.integers(0, 3), st.lists(st.integers(0, 255), min_size=4, max_size=4), st.binary(max_size=64))
        .map(lambda header: bytes([header[0], *header[1]]) + header[2]),
    )


def cases(topics: list[str]) -> st.SearchStrategy[Case]:
    """A transport and its frames: a few joins, well-formed frames, and in two cases of three one bad frame
    among them (one is enough: the first bad frame ends the connection, so the rest would never be read)."""
    def frames_for(transport: tuple[str, str]) -> st.SearchStrategy[Case]:
        kind, vsn = transport
        good = (joins(topics) | well_formed(topics)).map(lambda push: push.frame(vsn))
        bad = mistyped(topics).map(lambda push: push.frame(vsn)) | nested(topics, vsn) | garbage()
        before = st.lists(joins(topics).map(lambda push: push.frame(vsn)), max_size=3)
        middle = st.lists(good, max_size=6).map(tuple) | st.tuples(bad) | st.tuples(bad)
        after = st.lists(good, max_size=8)
        return st.builds(lambda *parts: Case(kind, vsn, tuple(frame for part in parts for frame in part)),
                         before, middle, after)

    return st.sampled_from(TRANSPORTS).flatmap(frames_for)


def strict_json(text: str) -> Any:
    """JSON as a browser reads it: no NaN or Infinity."""
    def refuse(name: str) -> None:
        raise AssertionError(f"the server sent {name}, which is not JSON: {text[:200]}")

    return json.loads(text, parse_constant=refuse)


def answers_heartbeat(frame: str, vsn: str) -> bool:
    decoded = strict_json(frame)
    if vsn == "1.0.0":
        return decoded["ref"] == HEARTBEAT_REF and decoded["payload"]["status"] == "ok"
    return decoded[1] == HEARTBEAT_REF and decoded[4]["status"] == "ok"


def heartbeat(vsn: str) -> str:
    return Push(None, HEARTBEAT_REF, "phoenix", "heartbeat", {}).frame(vsn)


class Fuzzer:
    """Plays one case against the live server and says how its connection ended: ``answering`` or ``closed``."""

    def __init__(self, http: aiohttp.ClientSession, token: str) -> None:
        self.http = http
        self.token = token

    async def play(self, case: Case) -> str:
        try:
            async with asyncio.timeout(CASE_TIMEOUT_S):
                if case.transport == "websocket":
                    return await self._websocket(case)
                return await self._longpoll(case)
        except TimeoutError:
            raise AssertionError(f"no heartbeat answered and no close in {CASE_TIMEOUT_S} s: {case!r}") from None

    async def _websocket(self, case: Case) -> str:
        async with self.http.ws_connect("/socket/websocket", params={"token": self.token, "vsn": case.vsn}) as ws:
            try:
                for frame in case.frames:
                    await (ws.send_bytes(frame) if isinstance(frame, bytes) else ws.send_str(frame))
                await ws.send_str(heartbeat(case.vsn))
            except ConnectionError:
                pass  # the server closed it already; its close frame says why
            while True:
                message = await ws.receive()
                match message.type:
                    case WSMsgType.TEXT if answers_heartbeat(message.data, case.vsn):
                        return "answering"
                    case WSMsgType.TEXT | WSMsgType.BINARY:
                        pass
                    case WSMsgType.CLOSE:
                        assert message.data in CLIENT_CLOSE_CODES, (message.data, message.extra)
                        return f"closed {message.data}"
                    case _:
                        raise AssertionError(f"the websocket ended without a close frame: {message}")

    async def _longpoll(self, case: Case) -> str:
        async with self.http.get("/socket/longpoll", params={"vsn": case.vsn},
                                 headers={"X-Phoenix-AuthToken": self.token}) as response:
            connection = (await response.json())["token"]
        for frame in case.frames:
            if case.vsn == "1.0.0":
                await self._post(connection, frame, "application/json")
            else:
                line = base64.b64encode(frame).decode() if isinstance(frame, bytes) else frame
                await self._post(connection, line, "application/x-ndjson")
        if await self._post(connection, heartbeat(case.vsn), "application/json") == 410:
            return "closed"
        while True:
            # With its credentials, as the JS client polls: a connection that ended answers 410 (reopen), not 403.
            async with self.http.get("/socket/longpoll", params={"token": connection, "vsn": case.vsn},
                                     headers={"X-Phoenix-AuthToken": self.token}) as response:
                polled = await response.json()
            if polled["status"] == 410:
                return "closed"
            texts = [message for message in polled["messages"] if message[:1] in ("[", "{")]
            if any(answers_heartbeat(text, case.vsn) for text in texts):
                return "answering"

    async def _post(self, connection: str, body: str | bytes, content_type: str) -> int:
        """POST frames; the logical status, which is an answer whatever the frames held."""
        async with self.http.post("/socket/longpoll", params={"token": connection}, data=body,
                                  headers={"content-type": content_type}) as response:
            if response.status == 413:
                return 413
            assert response.status == 200, response.status
            status = (await response.json())["status"]
        assert status in (200, 400, 408, 410), status
        return status


@pytest.fixture(autouse=True)
def hypothesis_home(tmp_path):
    """Hypothesis caches what it learns under ``.hypothesis`` in the working directory: not in the checkout."""
    set_hypothesis_home_dir(tmp_path / "hypothesis")
    yield
    set_hypothesis_home_dir(None)


async def actors_gone(server) -> None:
    endpoint = server.app[PHOENIX]
    try:
        async with asyncio.timeout(ACTORS_GONE_TIMEOUT_S):
            while endpoint.live_actors() != LiveActors(sockets=0, channels=0):
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"actors left after the fuzz: {endpoint.live_actors()}") from None


THREE_THOUSAND_BRACKETS = ("[" * 3000,)
MEGABYTE_ECHO = ('["1","1","test:fuzz","phx_join",{}]',
                 '["1","2","test:fuzz","echo",{"blob":"' + "x" * HUGE_MAX + '"}]')
MEGABYTE_TOPIC = ('["1","1","' + "t" * HUGE_MAX + '","phx_join",{}]',)


async def test_fuzzed_connections_are_answered_or_closed_and_leave_no_actor(server, http, owner, job_id, caplog):
    topics = [f"jobs:{job_id}", f"user:{owner.user.id}", "test:fuzz", "jobs:0", "nowhere:1"]
    fuzzer = Fuzzer(http, owner.token)
    loop = asyncio.get_running_loop()
    outcomes: Counter[tuple[str, str, str]] = Counter()

    # No shrinking: a case that fails by timing out would cost CASE_TIMEOUT_S per shrink step.
    @settings(max_examples=120, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.large_base_example])
    @given(case=cases(topics))
    @example(case=Case(*WEBSOCKET_V1, THREE_THOUSAND_BRACKETS))
    @example(case=Case(*WEBSOCKET_V2, THREE_THOUSAND_BRACKETS))
    @example(case=Case(*LONGPOLL_V1, THREE_THOUSAND_BRACKETS))
    @example(case=Case(*LONGPOLL_V2, THREE_THOUSAND_BRACKETS))
    @example(case=Case(*WEBSOCKET_V2, ('[1,2,{},"x",[]]',)))
    @example(case=Case(*WEBSOCKET_V2, MEGABYTE_ECHO))
    @example(case=Case(*LONGPOLL_V2, MEGABYTE_ECHO))
    @example(case=Case(*WEBSOCKET_V2, MEGABYTE_TOPIC))
    @example(case=Case(*LONGPOLL_V2, MEGABYTE_TOPIC))
    def fuzz(case: Case) -> None:
        outcomes[case.transport, case.vsn, asyncio.run_coroutine_threadsafe(fuzzer.play(case), loop).result()] += 1

    with caplog.at_level(logging.WARNING):
        await asyncio.to_thread(fuzz)

    async with http.get("/health") as response:
        assert response.status == 200
    await actors_gone(server)
    ours = {"sfa.web.phoenix.socket", "sfa.web.phoenix.transports.websocket", "sfa.web.phoenix.transports.longpoll"}
    assert [record.getMessage() for record in caplog.records
            if record.name in ours and record.levelno >= logging.ERROR] == [], "a fuzzed frame hit a server bug"
    assert {(kind, vsn) for kind, vsn, _ in outcomes} == set(TRANSPORTS), outcomes
    assert {"answering", "closed 1007", "closed"} <= {outcome for *_, outcome in outcomes}, outcomes
