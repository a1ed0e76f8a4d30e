"""``InLoopActor``: an actor that lives in the event loop, an asyncio task reading a mailbox.

For state that belongs to one user and does no heavy work (user presences): cheap enough for tens of
thousands per node. Messages are handled one at a time, in order, by ``handle`` (a
``match`` over message types in each subclass). An exception in ``handle`` ends the actor: its ``done``
resolves with the crash, callers waiting on ``ask`` get :class:`ActorCrashed`, and its supervisor decides
the rest. An actor with an ``idle_s`` ends normally after that long without a message.

The socket and channel actors of :mod:`sfa.web.phoenix` (``PhoenixSocket``, ``ChannelServer``) have the
same shape but loops of their own, for what a plain mailbox must not do: a socket's inbox pushes back on
its transport when it falls behind and ends on the client's silence rather than its own; a channel's
mailbox is bounded (overflow crashes the channel) and its join answers the socket before it serves. They
report to their socket, not to a supervisor, as Phoenix's channel processes are linked to their socket's.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Any

from sfa.supervisors.child import NORMAL, SHUTDOWN, Exit, crashed

log = logging.getLogger(__name__)


class ActorCrashed(RuntimeError):
    """The actor ended before it answered."""


class InLoopActor:
    type = "actor"

    def __init__(self, name: str, *, idle_s: float | None = None) -> None:
        self.name = name
        self.idle_s = idle_s
        self.started_at = time.monotonic()
        self.done: asyncio.Future[Exit] = asyncio.get_running_loop().create_future()
        self._mailbox: asyncio.Queue[tuple[Any, asyncio.Future | None]] = asyncio.Queue()
        self._task: asyncio.Task | None = None

    async def start(self) -> InLoopActor:
        self._task = asyncio.create_task(self._run(), name=f"{self.type}:{self.name}")
        return self

    def tell(self, message: Any) -> None:
        self._mailbox.put_nowait((message, None))

    async def ask(self, message: Any) -> Any:
        if self.done.done():
            raise ActorCrashed(f"{self.name} has ended ({self.done.result().reason})")
        reply = asyncio.get_running_loop().create_future()
        self._mailbox.put_nowait((message, reply))
        return await reply

    async def handle(self, message: Any) -> Any:
        """One message; the return value answers an ``ask``. Subclasses ``match`` on the message type."""
        raise NotImplementedError

    def idle_can_end(self) -> bool:
        """Whether ``idle_s`` without a message ends the actor; one still holding something says no."""
        return True

    async def stop(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.wait([self._task])
        self._end(SHUTDOWN)

    def status(self) -> dict[str, Any]:
        return {"type": self.type, "pid": os.getpid(), "state": "running" if not self.done.done() else "ended",
                "mailbox_depth": self._mailbox.qsize(), "current_job": None,
                "uptime_s": round(time.monotonic() - self.started_at, 3)}

    async def _run(self) -> None:
        try:
            while True:
                try:
                    message, reply = await asyncio.wait_for(self._mailbox.get(), self.idle_s)
                except TimeoutError:
                    if not self.idle_can_end():
                        continue
                    self._end(NORMAL)
                    return
                try:
                    result = await self.handle(message)
                except Exception as exc:
                    if reply is not None:
                        reply.set_exception(ActorCrashed(f"{self.name} crashed handling {message!r}: {exc!r}"))
                    log.exception("%s %s crashed on %r", self.type, self.name, message)
                    self._end(crashed(f"{type(exc).__name__}: {exc}"))
                    return
                if reply is not None and not reply.done():
                    reply.set_result(result)
        finally:
            self._fail_waiting()

    def _end(self, exit: Exit) -> None:
        if not self.done.done():
            self.done.set_result(exit)

    def _fail_waiting(self) -> None:
        while not self._mailbox.empty():
            message, reply = self._mailbox.get_nowait()
            if reply is not None and not reply.done():
                reply.set_exception(ActorCrashed(f"{self.name} ended before handling {message!r}"))
