"""``UserSession``: one in-loop actor per active user session, and ``SessionSupervisor``, which owns them.

A session holds what belongs to one signed-in user while they are active: live subscriptions (the topics
their channel sockets have joined, counted per socket) and provider tokens. It starts on
first use (``await sessions.session(key)``), ends by itself after ``SFA_SESSION_IDLE_S`` without a message
once no socket holds a subscription, and is ``transient``: restarted (empty) if it crashes, gone for good
once it ends normally. A crash costs that one session, never its neighbours.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sfa.actors.inloop import InLoopActor
from sfa.supervisors import ChildSpec, Intensity, Restart, Supervisor

log = logging.getLogger(__name__)

# Sessions are many and independent: one crashing often should not take the others down.
SESSIONS_INTENSITY = Intensity(100, 5)


@dataclass(frozen=True, slots=True)
class Subscribe:
    topic: str


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    topic: str


@dataclass(frozen=True, slots=True)
class Subscriptions:
    """Answered with the session's topics, a frozenset."""


@dataclass(frozen=True, slots=True)
class PutToken:
    provider: str
    token: str


@dataclass(frozen=True, slots=True)
class GetToken:
    provider: str


class UserSession(InLoopActor):
    kind = "user_session"

    def __init__(self, key: str, *, idle_s: float) -> None:
        super().__init__(key, idle_s=idle_s)
        self.topics: Counter[str] = Counter()
        self.tokens: dict[str, str] = {}

    async def handle(self, message: Any) -> Any:
        match message:
            case Subscribe(topic):
                self.topics[topic] += 1
            case Unsubscribe(topic):
                self.topics[topic] -= 1
                if self.topics[topic] <= 0:
                    del self.topics[topic]
            case Subscriptions():
                return frozenset(self.topics)
            case PutToken(provider, token):
                self.tokens[provider] = token
            case GetToken(provider):
                return self.tokens.get(provider)
            case _:
                log.warning("session %s dropped an unknown message %r", self.name, message)

    def idle_can_end(self) -> bool:
        return not self.topics


class SessionSupervisor(Supervisor):
    """A dynamic supervisor of :class:`UserSession` actors, one per session key."""

    def __init__(self, name: str = "sessions", *, idle_s: float, intensity: Intensity = SESSIONS_INTENSITY) -> None:
        super().__init__(name, intensity=intensity)
        self.idle_s = idle_s
        self._starting: dict[str, asyncio.Task] = {}

    async def session(self, key: str) -> UserSession:
        """The session for ``key``, started if it is not running."""
        while True:
            running = self.child(self._name_of(key))
            if running is not None and not running.done.done():
                return running
            if running is not None:
                await asyncio.sleep(0)  # it just ended: let this supervisor restart or retire it first
                continue
            starting = self._starting.get(key)
            if starting is None:
                starting = self._starting[key] = asyncio.create_task(self._start_session(key))
                starting.add_done_callback(lambda _: self._starting.pop(key, None))
            await asyncio.shield(starting)

    async def _start_session(self, key: str) -> None:
        async def start() -> UserSession:
            return await UserSession(key, idle_s=self.idle_s).start()

        await self.start_child(ChildSpec(self._name_of(key), start, Restart.TRANSIENT, kind=UserSession.kind))

    @staticmethod
    def _name_of(key: str) -> str:
        return f"session:{key}"
