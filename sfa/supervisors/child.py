"""What a supervisor knows about its children: how to start one, when to restart it, how it ended.

A child is anything that runs and can end: an in-loop actor (an asyncio task with a mailbox), the
event loop's handle on a Thespian actor in another process, or another supervisor. All look the same to
a supervisor, through :class:`Child`: a ``done`` future that resolves with an :class:`Exit`, a ``stop()``,
and a ``status()`` for the operators' tree.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol


class Restart(StrEnum):
    PERMANENT = "permanent"   # always restarted
    TRANSIENT = "transient"   # restarted only after an abnormal exit
    TEMPORARY = "temporary"   # never restarted


class Strategy(StrEnum):
    ONE_FOR_ONE = "one_for_one"     # restart the child that exited
    ONE_FOR_ALL = "one_for_all"     # stop the others, restart them all
    REST_FOR_ONE = "rest_for_one"   # stop those started after it, restart it and them


@dataclass(frozen=True, slots=True)
class Intensity:
    """At most ``max_restarts`` restarts in any ``period_s`` seconds; one more and the supervisor gives up."""

    max_restarts: int = 3
    period_s: float = 5.0


@dataclass(frozen=True, slots=True)
class Exit:
    reason: str
    normal: bool


NORMAL = Exit("normal", True)
SHUTDOWN = Exit("shutdown", True)


def crashed(reason: str) -> Exit:
    return Exit(reason, False)


RESTARTS: dict[Restart, Callable[[Exit], bool]] = {
    Restart.PERMANENT: lambda exit: True,
    Restart.TRANSIENT: lambda exit: not exit.normal,
    Restart.TEMPORARY: lambda exit: False,
}


class Child(Protocol):
    type: str
    done: Any  # asyncio.Future[Exit]

    async def stop(self) -> None:
        """End the child in order; ``done`` resolves (with :data:`SHUTDOWN`) before this returns."""

    def status(self) -> dict[str, Any]:
        """``pid``, ``state``, ``mailbox_depth``, ``current_job``, ``uptime_s``; a supervisor adds its own tree."""


@dataclass(frozen=True, slots=True)
class ChildSpec:
    name: str
    start: Callable[[], Awaitable[Child]]
    restart: Restart = Restart.PERMANENT
    type: str = "actor"
