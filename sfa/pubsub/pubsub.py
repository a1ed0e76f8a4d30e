"""The PubSub a server process runs: local subscriptions plus the PostgreSQL adapter (Phoenix.PubSub)."""

from __future__ import annotations

import os
import secrets
import socket

from sfa.db.database import Database
from sfa.pubsub.broadcast import Broadcast
from sfa.pubsub.postgres import PostgresListener, notify
from sfa.pubsub.registry import Fastlane, Registry, Subscriber, Subscription


class PubSub:
    """Subscribe in this process; publish to every process on the database.

    Until :meth:`start` it publishes (locally and by NOTIFY) but hears no other process.
    """

    def __init__(self, database: Database, *, node: str | None = None) -> None:
        self.database = database
        self.node = node or f"{socket.gethostname()}/{os.getpid()}/{secrets.token_hex(4)}"
        self._registry = Registry()
        self._listener = PostgresListener(database, self.node, self._registry.dispatch)

    async def start(self) -> PubSub:
        await self._listener.start()
        return self

    async def stop(self) -> None:
        await self._listener.stop()

    @property
    def listening(self) -> bool:
        """Whether broadcasts from other processes are being heard (news of changes is on
        :data:`sfa.pubsub.postgres.NEWS_TOPIC`)."""
        return self._listener.listening

    def subscribe(self, topic: str, subscriber: Subscriber, fastlane: Fastlane | None = None) -> Subscription:
        """Call ``subscriber`` with each broadcast on ``topic``, or, given a ``fastlane``, only with those it
        intercepts, writing the others' frames straight to the fastlane."""
        return self._registry.subscribe(topic, subscriber, fastlane)

    def subscribers(self, topic: str) -> int:
        """How many subscriptions this process holds on ``topic``."""
        return self._registry.subscribers(topic)

    async def publish(self, message: Broadcast) -> None:
        """Deliver ``message`` to this process's subscribers and NOTIFY the others.

        The NOTIFY goes first, so a payload that cannot be encoded raises before anyone hears it.
        """
        async with self.database.pool.acquire() as conn:
            await notify(conn, message, origin=self.node)
        self._registry.dispatch(message)
