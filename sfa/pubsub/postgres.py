"""Fan-out between server processes over PostgreSQL LISTEN/NOTIFY.

A broadcast travels as one NOTIFY on :data:`CHANNEL` carrying ``{"o": origin, "t", "e", "p"}``. A body too
big for NOTIFY is stored in ``pubsub_payloads`` and the NOTIFY carries ``{"o": origin, "r": id}`` instead,
so nothing is dropped for its size. Each process listens on one connection of its own and skips what it
published itself (it delivered that locally already).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Sequence

import asyncpg
from pypika import Query, Table
from pypika.functions import Function
from pypika.terms import Parameter

from sfa.db.database import Database
from sfa.pubsub.broadcast import Broadcast, dumps

log = logging.getLogger(__name__)

CHANNEL = "sfa_pubsub"
# PostgreSQL refuses a NOTIFY payload of 8000 bytes or more.
MAX_NOTIFY_BYTES = 7999
PAYLOAD_RETENTION_S = 600.0
RECONNECT_MAX_S = 5.0
# The listener's own news, delivered in this process only: whether broadcasts from elsewhere are being heard.
# A cache kept fresh by broadcasts serves nothing while they may be missed.
NEWS_TOPIC = "pubsub"
LISTENING = "listening"
NOT_LISTENING = "not_listening"

pubsub_payloads = Table("pubsub_payloads")

NOTIFY = str(Query.select(Function("pg_notify", Parameter("$1"), Parameter("$2"))))
# One pg_notify per array element, in order: a select over unnest(), which pypika cannot express.
NOTIFY_MANY = "SELECT pg_notify($1, body) FROM unnest($2::text[]) AS body"
SELECT_BODY = str(Query.from_(pubsub_payloads).select(pubsub_payloads.body)
                  .where(pubsub_payloads.id == Parameter("$1")))
# A data-modifying CTE, which pypika cannot express: storing a body and dropping long-read ones is one trip.
STORE_BODY = """
WITH expired AS (
    DELETE FROM pubsub_payloads WHERE inserted_at < now() - make_interval(secs => $2)
)
INSERT INTO pubsub_payloads (body) VALUES ($1) RETURNING id
"""

Connection = asyncpg.Connection | asyncpg.pool.PoolConnectionProxy


async def notify(conn: Connection, message: Broadcast, *, origin: str = "") -> None:
    """Send ``message`` to every listening process; inside a transaction it is sent at commit.

    ``origin`` names the sending PubSub, whose own listener skips the message; leave it empty elsewhere.
    """
    await conn.execute(NOTIFY, CHANNEL, await _body(conn, message, origin))


async def notify_many(conn: Connection, messages: Sequence[Broadcast], *, origin: str = "") -> None:
    """:func:`notify` for a batch, in order, in one round trip (the job queue announces thousands a second)."""
    if messages:
        await conn.execute(NOTIFY_MANY, CHANNEL, [await _body(conn, message, origin) for message in messages])


async def _body(conn: Connection, message: Broadcast, origin: str) -> str:
    body = dumps({"o": origin, "t": message.topic, "e": message.event, "p": message.payload})
    if len(body.encode()) > MAX_NOTIFY_BYTES:
        ref = await conn.fetchval(STORE_BODY, body, PAYLOAD_RETENTION_S)
        body = dumps({"o": origin, "r": ref})
    return body


class PostgresListener:
    """The LISTEN side: one dedicated connection, re-established with back-off when it drops.

    Notifications are decoded in arrival order by one consumer task, so a stored body that must first be
    read does not let later broadcasts overtake it. Broadcasts sent while the connection is down are lost;
    subscribers of :data:`NEWS_TOPIC` hear when it goes down and when it is back.
    """

    def __init__(self, database: Database, origin: str, deliver: Callable[[Broadcast], None]) -> None:
        self._database = database
        self._origin = origin
        self._deliver = deliver
        self._inbox: asyncio.Queue[str] = asyncio.Queue()
        self._conn: asyncpg.Connection | None = None
        self._tasks: set[asyncio.Task] = set()
        self._stopping = False

    async def start(self) -> None:
        await self._listen()
        self._spawn(self._consume())

    async def stop(self) -> None:
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._conn is not None:
            await self._conn.close()

    def _spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _listen(self) -> None:
        conn = await asyncpg.connect(self._database.url)
        conn.add_termination_listener(self._on_lost)
        await conn.add_listener(CHANNEL, self._on_notify)
        self._conn = conn
        self._deliver(Broadcast(NEWS_TOPIC, LISTENING, {}))

    @property
    def listening(self) -> bool:
        return self._conn is not None and not self._conn.is_closed()

    def _on_lost(self, conn: asyncpg.Connection) -> None:
        if not self._stopping:
            log.warning("pubsub: lost the LISTEN connection; reconnecting")
            self._deliver(Broadcast(NEWS_TOPIC, NOT_LISTENING, {}))
            self._spawn(self._reconnect())

    async def _reconnect(self) -> None:
        delay = 0.1
        while True:
            try:
                await self._listen()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("pubsub: reconnect failed (%s); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX_S)
            else:
                log.info("pubsub: listening again")
                return

    def _on_notify(self, conn: asyncpg.Connection, pid: int, channel: str, payload: str) -> None:
        self._inbox.put_nowait(payload)

    async def _consume(self) -> None:
        while True:
            raw = await self._inbox.get()
            try:
                envelope = json.loads(raw)
                if envelope["o"] == self._origin:
                    continue
                if "r" in envelope:
                    envelope = await self._stored(envelope["r"])
                message = Broadcast(envelope["t"], envelope["e"], envelope["p"])
            except (ValueError, KeyError, TypeError) as exc:
                log.warning("pubsub: dropped a notification that is no broadcast (%s): %.200s", exc, raw)
                continue
            self._deliver(message)

    async def _stored(self, ref: int) -> dict:
        async with self._database.pool.acquire() as conn:
            body = await conn.fetchval(SELECT_BODY, ref)
        if body is None:
            raise KeyError(f"stored body {ref} is gone")
        return json.loads(body)
