"""``UserPresence``: one in-loop actor per user with sockets on this node, and ``PresenceSupervisor``, which
owns them.

A presence holds what belongs to one user while their sockets are connected here: the topics those sockets
have joined, counted per socket, which the supervision tree shows (``topics``). It starts on the user's
first join (``await presences.presence(key)``), ends by itself after ``SFA_PRESENCE_IDLE_S`` without a
message once no socket holds a topic, and is ``transient``: restarted (empty) if it crashes, gone for good
once it ends normally. A crash costs that one user's presence, never its neighbours'. It is local to one
node, unlike Phoenix.Presence, which tracks who is online across a cluster.
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

# Presences are many and independent: one crashing often should not take the others down.
PRESENCES_INTENSITY = Intensity(100, 5)


@dataclass(frozen=True, slots=True)
class Joined:
    """One of the user's sockets joined ``topic``."""

    topic: str


@dataclass(frozen=True, slots=True)
class Left:
    """One of the user's sockets left ``topic`` (or closed while joined)."""

    topic: str


class UserPresence(InLoopActor):
    type = "user_presence"

    def __init__(self, key: str, *, idle_s: float) -> None:
        super().__init__(key, idle_s=idle_s)
        self.topics: Counter[str] = Counter()

    async def handle(self, message: Any) -> None:
        match message:
            case Joined(topic):
                self.topics[topic] += 1
            case Left(topic):
                self.topics[topic] -= 1
                if self.topics[topic] <= 0:
                    del self.topics[topic]
            case _:
                log.warning("presence %s dropped an unknown message %r", self.name, message)

    def idle_can_end(self) -> bool:
        return not self.topics

    def status(self) -> dict[str, Any]:
        return {**super().status(), "topics": sorted(self.topics)}


class PresenceSupervisor(Supervisor):
    """A dynamic supervisor of :class:`UserPresence` actors, one per key (``user:<id>``)."""

    def __init__(self, name: str = "presences", *, idle_s: float,
                 intensity: Intensity = PRESENCES_INTENSITY) -> None:
        super().__init__(name, intensity=intensity)
        self.idle_s = idle_s
        self._starting: dict[str, asyncio.Task] = {}

    async def presence(self, key: str) -> UserPresence:
        """The presence for ``key``, started if it is not running."""
        while True:
            running = self.child(self._name_of(key))
            if running is not None and not running.done.done():
                return running
            if running is not None:
                await asyncio.sleep(0)  # it just ended: let this supervisor restart or retire it first
                continue
            starting = self._starting.get(key)
            if starting is None:
                starting = self._starting[key] = asyncio.create_task(self._start_presence(key))
                starting.add_done_callback(lambda _: self._starting.pop(key, None))
            await asyncio.shield(starting)

    async def _start_presence(self, key: str) -> None:
        async def start() -> UserPresence:
            return await UserPresence(key, idle_s=self.idle_s).start()

        await self.start_child(ChildSpec(self._name_of(key), start, Restart.TRANSIENT, type=UserPresence.type))

    @staticmethod
    def _name_of(key: str) -> str:
        return f"presence:{key}"
