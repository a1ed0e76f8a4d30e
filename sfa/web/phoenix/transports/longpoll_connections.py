"""Long-poll connections any node can serve: signed connection tokens, and PubSub routing to the node holding one.

A connection (its :class:`PhoenixSocket`, channels and buffered frames) lives in the process that opened it.
Its token is ``<id>.<signature>``: the id names the connection's private PubSub topic ``phx:lp:<id>``, the
signature (HMAC under a key derived from ``SFA_SECRET_KEY``) lets any node refuse a forged or mangled
token without asking anyone. A poll or a POST that reaches the owning process is served in place; one that
reaches another node travels over PubSub, as Phoenix's ``LongPoll`` does between nodes: the node asks on
the connection's topic (``flush`` for frames, ``dispatch`` with the client's frames) and waits on a reply
topic of its own. The owner answers at once when it can, else first says ``waiting`` (then the asker
knows the connection lives); no answer within :data:`PUBSUB_TIMEOUT_S` means the connection is gone (410).
Every node must therefore share ``SFA_SECRET_KEY``. Frames leave the owner's outbox exactly once,
whichever node's request took them.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import secrets
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from sfa.pubsub import Broadcast, PubSub
from sfa.web.phoenix.socket import PhoenixSocket

log = logging.getLogger(__name__)

TOPIC_PREFIX = "phx:lp:"
# Phoenix's pubsub_timeout_ms: how long a node waits for the owner of a connection to answer at all.
PUBSUB_TIMEOUT_S = 2.0
# An owner whose answer is not ready this soon says "waiting" first, well within PUBSUB_TIMEOUT_S.
ACK_AFTER_S = 0.25
GONE_TOPIC = "phx:lp-gone"
GONE_KEPT_S = 60.0


class Ask:
    """The events between a node serving a request and the connection's owner."""

    FLUSH, DISPATCH, WAITING, ANSWER = "flush", "dispatch", "waiting", "answer"


@dataclass(slots=True)
class LongPollConnection:
    token: str
    topic: str
    socket: PhoenixSocket
    window_s: float
    polling: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def poll(self) -> list[str] | None:
        """Frames for the client, waiting up to the window for the first; None once the socket closed."""
        async with self.polling:
            self.socket.touch()
            if self.socket.outbox.empty():
                arrival = asyncio.ensure_future(self.socket.outbox.get())
                await asyncio.wait((arrival, self.socket.closed), timeout=self.window_s,
                                   return_when=asyncio.FIRST_COMPLETED)
                if not arrival.done():
                    arrival.cancel()
                    return None if self.socket.closed.done() else []
                frames = [arrival.result()]
            else:
                frames = []
            while not self.socket.outbox.empty():
                frames.append(self.socket.outbox.get_nowait())
            return [frame if isinstance(frame, str) else base64.b64encode(frame).decode() for frame in frames]

    async def deliver(self, frames: list[str | bytes]) -> bool:
        """Hand the client's frames to the socket; False when it did not take them within the window."""
        try:
            async with asyncio.timeout(self.window_s):
                for frame in frames:
                    await self.socket.receive(frame)
        except TimeoutError:
            return False
        return True


@dataclass(frozen=True, slots=True)
class Polled:
    """What a poll got: the logical status (200, 204, or 410 when the connection is gone) and the frames."""

    status: int
    messages: list[str]


class LongPollConnections:
    """The connections this process holds, by their topic, and the way to the ones other processes hold."""

    def __init__(self, pubsub: PubSub, key: bytes, window_s: float) -> None:
        self.window_s = window_s
        self._pubsub = pubsub
        self._key = key
        self._connections: dict[str, LongPollConnection] = {}
        self._tasks: set[asyncio.Task] = set()
        self._gone: dict[str, float] = {}  # connection topic -> when it ended (loop time), oldest first
        pubsub.subscribe(GONE_TOPIC, self._heard_gone)

    # -- tokens -------------------------------------------------------------------------------------------

    def verified(self, tokens: list[str]) -> str | None:
        """The first of ``tokens`` signed with this cluster's key; None when none is."""
        for token in tokens:
            connection_id = token.partition(".")[0]
            expected = connection_token(self._key, connection_id)
            if connection_id and hmac.compare_digest(token.encode(), expected.encode()):
                return token
        return None

    # -- connections held here -------------------------------------------------------------------------------

    def open(self, socket: PhoenixSocket) -> LongPollConnection:
        token = connection_token(self._key, secrets.token_urlsafe(16))
        connection = LongPollConnection(token, token_topic(token), socket, self.window_s)
        self._connections[connection.topic] = connection
        subscription = self._pubsub.subscribe(connection.topic, lambda message: self._spawn(self._serve(connection,
                                                                                                     message)))

        def forget(_: object) -> None:
            subscription.cancel()
            self._connections.pop(connection.topic, None)
            self._bury(connection.topic)
            self._spawn(self._announce_gone(connection.topic))

        socket.closed.add_done_callback(forget)
        return connection

    def local(self, topic: str) -> LongPollConnection | None:
        return self._connections.get(topic)

    def gone(self, topic: str) -> bool:
        """Whether the connection on ``topic`` is known to have ended (here, or on a node that said so)."""
        return topic in self._gone

    def _bury(self, topic: str) -> None:
        now = asyncio.get_running_loop().time()
        self._gone[topic] = now
        while (oldest := next(iter(self._gone.items()))) and now - oldest[1] > GONE_KEPT_S:
            del self._gone[oldest[0]]

    def _heard_gone(self, message: Broadcast) -> None:
        match message.payload:
            case {"topic": str(topic)}:
                self._bury(topic)

    async def _announce_gone(self, topic: str) -> None:
        try:
            await self._pubsub.publish(Broadcast(GONE_TOPIC, "gone", {"topic": topic}))
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:  # the node is stopping
            log.info("long-poll: could not announce the end of a connection (%s)", exc)

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, connection: LongPollConnection, message: Broadcast) -> None:
        """A request for ``connection`` from another node: do it here, answer on its reply topic."""
        match message.event, message.payload:
            case (Ask.FLUSH, {"reply": str(reply)}):
                await self._answer(reply, self._flush(connection))
            case (Ask.DISPATCH, {"reply": str(reply), "frames": list(frames)}):
                await self._answer(reply, self._dispatch(connection, frames))
            case _:
                log.warning("long-poll connection dropped an unknown request %r", message.event)

    async def _flush(self, connection: LongPollConnection) -> dict[str, Any]:
        frames = await connection.poll()
        return {"status": 410, "messages": []} if frames is None else \
            {"status": 200 if frames else 204, "messages": frames}

    async def _dispatch(self, connection: LongPollConnection, encoded: list[dict[str, str]]) -> dict[str, Any]:
        frames = [item["t"] if "t" in item else base64.b64decode(item["b"]) for item in encoded]
        return {"status": 200 if await connection.deliver(frames) else 408}

    async def _answer(self, reply: str, work: Awaitable[dict[str, Any]]) -> None:
        task = asyncio.ensure_future(work)
        done, _ = await asyncio.wait({task}, timeout=ACK_AFTER_S)
        if not done:
            await self._pubsub.publish(Broadcast(reply, Ask.WAITING, {}))
        await self._pubsub.publish(Broadcast(reply, Ask.ANSWER, await task))

    # -- connections held elsewhere --------------------------------------------------------------------------

    async def poll(self, topic: str) -> Polled | None:
        """Poll the connection on ``topic`` wherever it lives; None when no process holds it."""
        if self.gone(topic):
            return None
        if (connection := self.local(topic)) is not None:
            frames = await connection.poll()
            return None if frames is None else Polled(200 if frames else 204, frames)
        answer = await self._ask(topic, Ask.FLUSH, {})
        if answer is None or answer["status"] == 410:
            return None
        return Polled(answer["status"], answer["messages"])

    async def deliver(self, topic: str, frames: list[str | bytes]) -> int | None:
        """The client's frames to the connection on ``topic``: 200, 408 when it did not take them in time, or
        None when no process holds it."""
        if self.gone(topic):
            return None
        if (connection := self.local(topic)) is not None:
            return 200 if await connection.deliver(frames) else 408
        encoded = [{"t": f} if isinstance(f, str) else {"b": base64.b64encode(f).decode()} for f in frames]
        answer = await self._ask(topic, Ask.DISPATCH, {"frames": encoded})
        return None if answer is None else answer["status"]

    async def _ask(self, topic: str, event: str, payload: dict[str, Any]) -> dict | None:
        """Ask the owner of ``topic`` and wait for its answer: None when nobody answers in time."""
        reply = f"{topic}:reply:{secrets.token_urlsafe(8)}"
        answers: asyncio.Queue[Broadcast] = asyncio.Queue()
        subscription = self._pubsub.subscribe(reply, answers.put_nowait)
        try:
            await self._pubsub.publish(Broadcast(topic, event, {**payload, "reply": reply}))
            wait_s = PUBSUB_TIMEOUT_S
            while True:
                try:
                    answer = await asyncio.wait_for(answers.get(), wait_s)
                except TimeoutError:
                    return None
                if answer.event != Ask.WAITING:
                    return answer.payload
                # The owner holds the connection and works on it: a poll takes up to its window.
                wait_s = self.window_s + PUBSUB_TIMEOUT_S
        finally:
            subscription.cancel()


def connection_token(key: bytes, connection_id: str) -> str:
    """``<id>.<signature>``: the HMAC-SHA256 of the id under the cluster's long-poll key, 144 bits of it."""
    digest = hmac.new(key, connection_id.encode(), hashlib.sha256).digest()[:18]
    return f"{connection_id}.{base64.urlsafe_b64encode(digest).decode()}"


def token_topic(token: str) -> str:
    """The private PubSub topic of the connection a (verified) token names."""
    return TOPIC_PREFIX + token.partition(".")[0]
