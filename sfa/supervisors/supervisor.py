"""``Supervisor``: starts children in order, restarts them by strategy, stops them in reverse order.

Exits are handled one at a time from the supervisor's mailbox, so a restart never races another exit.
Each restart is counted; when more than ``intensity.max_restarts`` fall within ``intensity.period_s``,
the supervisor stops all its children and ends abnormally ("escalated"), which its own supervisor sees as
one crashed child. A supervisor is itself a :class:`~sfa.supervisors.child.Child`, so trees nest.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sfa.supervisors.child import RESTARTS, SHUTDOWN, Child, ChildSpec, Exit, Intensity, Restart, Strategy, crashed

log = logging.getLogger(__name__)

DEFAULT_INTENSITY = Intensity()


class NeverStarted:
    """Stands for a child whose ``start`` raised: the supervisor treats that like an immediate crash."""

    type = "never_started"


@dataclass(slots=True, eq=False)
class Slot:
    spec: ChildSpec
    dynamic: bool = False
    child: Child | NeverStarted | None = None
    state: str = "starting"
    restarts: deque[float] = field(default_factory=deque)
    last_exit: str | None = None


def exit_of(done: asyncio.Future[Exit]) -> Exit:
    return crashed("its done future was cancelled") if done.cancelled() else done.result()


class Supervisor:
    type = "supervisor"

    def __init__(self, name: str, children: Sequence[ChildSpec] = (), *,
                 strategy: Strategy = Strategy.ONE_FOR_ONE, intensity: Intensity = DEFAULT_INTENSITY) -> None:
        self.name = name
        self.strategy = strategy
        self.intensity = intensity
        self.state = "starting"
        self.started_at = time.monotonic()
        self.done: asyncio.Future[Exit] = asyncio.get_running_loop().create_future()
        self._slots = [Slot(spec) for spec in children]
        self._history: deque[float] = deque()
        self._mailbox: asyncio.Queue[tuple[Slot, Child | NeverStarted, Exit]] = asyncio.Queue()
        self._task: asyncio.Task | None = None

    async def start(self) -> Supervisor:
        """Start every child in order; if one cannot start, stop those started and raise."""
        started: list[Slot] = []
        try:
            for slot in self._slots:
                await self._start(slot)
                started.append(slot)
        except BaseException:
            await self._stop_slots(started)
            raise
        self._task = asyncio.create_task(self._supervise(), name=f"supervisor:{self.name}")
        self.state = "running"
        return self

    async def stop(self) -> None:
        if self.done.done():
            return
        self.state = "stopping"
        if self._task is not None:
            self._task.cancel()
        await self._stop_slots(self._slots)
        self._finish(SHUTDOWN)

    async def start_child(self, spec: ChildSpec) -> Child:
        """Add a child to a running supervisor (a dynamic one: removed once it ends for good)."""
        slot = Slot(spec, dynamic=True)
        self._slots.append(slot)
        try:
            await self._start(slot)
        except BaseException:
            self._slots.remove(slot)
            raise
        return slot.child

    def child(self, name: str) -> Child | None:
        for slot in self._slots:
            if slot.spec.name == name and slot.state == "running":
                return slot.child
        return None

    def mailbox_depth(self) -> int:
        return self._mailbox.qsize()

    def status(self) -> dict[str, Any]:
        now = time.monotonic()
        return {
            "type": self.type, "pid": os.getpid(), "state": self.state,
            "mailbox_depth": 0 if self.done.done() else self.mailbox_depth(),
            "current_job": None, "uptime_s": round(now - self.started_at, 3),
            "strategy": str(self.strategy),
            "intensity": {"max_restarts": self.intensity.max_restarts, "period_s": self.intensity.period_s},
            "children": [self._child_status(slot, now) for slot in self._slots],
        }

    def snapshot(self) -> dict[str, Any]:
        """The tree below and including this supervisor, as operators read it."""
        return {"name": self.name, **self.status(), "restart": None, "restarts": 0, "last_exit": None}

    def _child_status(self, slot: Slot, now: float) -> dict[str, Any]:
        while slot.restarts and slot.restarts[0] < now - self.intensity.period_s:
            slot.restarts.popleft()
        running = slot.state == "running" and not isinstance(slot.child, NeverStarted | None)
        status = slot.child.status() if running else {
            "type": slot.spec.type, "pid": None, "state": slot.state, "mailbox_depth": 0, "current_job": None,
            "uptime_s": None}
        return {"name": slot.spec.name, **status, "restart": str(slot.spec.restart),
                "restarts": len(slot.restarts), "last_exit": slot.last_exit}

    async def _start(self, slot: Slot) -> None:
        slot.state = "starting"
        child = await slot.spec.start()
        slot.child, slot.state = child, "running"
        child.done.add_done_callback(lambda done: self._mailbox.put_nowait((slot, child, exit_of(done))))

    async def _supervise(self) -> None:
        while not self.done.done():
            slot, child, exit = await self._mailbox.get()
            if slot.child is child and slot in self._slots:
                await self._on_exit(slot, exit)

    async def _on_exit(self, slot: Slot, exit: Exit) -> None:
        slot.child, slot.state, slot.last_exit = None, "restarting", exit.reason
        restart = RESTARTS[slot.spec.restart](exit)
        log_at = logging.INFO if exit.normal else logging.WARNING
        log.log(log_at, "%s: child %s exited (%s)%s", self.name, slot.spec.name, exit.reason,
                "; restarting" if restart else "")
        if not restart:
            self._retire(slot)
            return
        now = time.monotonic()
        self._history.append(now)
        while self._history[0] < now - self.intensity.period_s:
            self._history.popleft()
        if len(self._history) > self.intensity.max_restarts:
            await self._escalate(slot, exit)
            return
        slot.restarts.append(now)
        affected = self._affected_by(slot)
        await self._stop_slots([s for s in affected if s is not slot])
        for each in affected:
            if each is slot or each.spec.restart is not Restart.TEMPORARY:
                await self._restart(each)
            else:
                self._retire(each)

    def _affected_by(self, slot: Slot) -> list[Slot]:
        match self.strategy:
            case Strategy.ONE_FOR_ONE:
                return [slot]
            case Strategy.ONE_FOR_ALL:
                return list(self._slots)
            case Strategy.REST_FOR_ONE:
                return self._slots[self._slots.index(slot):]

    async def _restart(self, slot: Slot) -> None:
        try:
            await self._start(slot)
        except Exception as exc:  # a child that cannot start counts as one that crashed at once
            slot.child, slot.state = NeverStarted(), "restarting"
            self._mailbox.put_nowait((slot, slot.child, crashed(f"start failed: {type(exc).__name__}: {exc}")))

    def _retire(self, slot: Slot) -> None:
        slot.child, slot.state = None, "exited"
        if slot.dynamic:
            self._slots.remove(slot)

    async def _escalate(self, slot: Slot, exit: Exit) -> None:
        reason = (f"escalated: more than {self.intensity.max_restarts} restarts in {self.intensity.period_s:g}s "
                  f"(last: {slot.spec.name}: {exit.reason})")
        log.error("%s: %s; stopping its children", self.name, reason)
        self.state = "escalated"
        await self._stop_slots(self._slots)
        self._finish(crashed(reason))

    async def _stop_slots(self, slots: Sequence[Slot]) -> None:
        for slot in reversed(list(slots)):
            child, slot.child = slot.child, None
            if slot.state == "running":
                await child.stop()
            slot.state = "stopped"

    def _finish(self, exit: Exit) -> None:
        if exit.normal:
            self.state = "stopped"
        if not self.done.done():
            self.done.set_result(exit)
