"""``Nursery``: the Thespian actor that parents every worker, so that worker deaths reach the event loop.

Thespian tells only an actor's parent that it exited (``ChildActorExited``, within milliseconds of a
``kill -9``); actors created from outside are parented by the admin, which keeps that to itself. So the
bridge asks the nursery to create each worker and the nursery reports births and deaths to the bridge's
listening endpoint. It also watches the server process: if the server dies without shutting the system
down (``kill -9``), the nursery kills the actor system's whole process group, so no worker outlives it.
"""

from __future__ import annotations

import logging
import os
import signal
from datetime import timedelta

import psutil
from thespian.actors import (
    ActorAddress,
    ActorSystemMessage,
    ActorTypeDispatcher,
    ChildActorExited,
    InvalidActorSpecification,
    WakeupMessage,
)

from sfa.actors.messages import Envelope, Exited, Spawn, SpawnFailed, Start, Subscribe, Subscribed

log = logging.getLogger(__name__)

OWNER_CHECK = timedelta(seconds=1)


class Nursery(ActorTypeDispatcher):
    def __init__(self) -> None:
        super().__init__()
        self.listener: ActorAddress | None = None
        self.owner_pid = 0
        self.children: list[tuple[ActorAddress, int]] = []  # ActorAddress is not hashable

    def receiveMsg_Subscribe(self, message: Subscribe, sender: ActorAddress) -> None:
        self.listener = sender
        self.owner_pid = message.owner_pid
        self.send(sender, Subscribed(nursery_pid=os.getpid(), sid=os.getsid(0)))
        self.wakeupAfter(OWNER_CHECK)

    def receiveMsg_Spawn(self, message: Spawn, sender: ActorAddress) -> None:
        try:
            child = self.createActor(message.actor_class)
        except InvalidActorSpecification as exc:
            self.send(self.listener, Envelope(message.ref, SpawnFailed(str(exc))))
            return
        self.children.append((child, message.ref))
        self.send(child, Start(message.ref, self.listener, message.device, message.performers))

    def receiveMsg_ChildActorExited(self, message: ChildActorExited, sender: ActorAddress) -> None:
        for entry in [entry for entry in self.children if entry[0] == message.childAddress]:
            self.children.remove(entry)
            self.send(self.listener, Envelope(entry[1], Exited()))

    def receiveMsg_WakeupMessage(self, message: WakeupMessage, sender: ActorAddress) -> None:
        if psutil.pid_exists(self.owner_pid):
            self.wakeupAfter(OWNER_CHECK)
            return
        log.error("server process %d is gone without stopping its actor system; killing it", self.owner_pid)
        os.killpg(0, signal.SIGKILL)

    def receiveMsg_ActorSystemMessage(self, message: ActorSystemMessage, sender: ActorAddress) -> None:
        """Thespian acts on its own messages (an exit request, for one) after this returns."""

    def receiveUnrecognizedMessage(self, message: object, sender: ActorAddress) -> None:
        log.warning("nursery dropped an unknown message %r", message)
