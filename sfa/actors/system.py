"""``ActorSystemBridge``: the event loop's only door into a Thespian actor system.

Thespian's ``tell``/``listen`` block, and an ActorSystem handle belongs to one thread. So the bridge owns
two: a one-thread executor that starts the system and does every ``tell`` (awaited from the loop, never
blocking it), and a listener thread with its own ``private()`` endpoint, where actors send
:class:`~sfa.actors.messages.Envelope` s that it hands to the loop with ``call_soon_threadsafe``.
Thespian's multiproc admin daemonises into its own session; the bridge learns that session from the
nursery and, after ``shutdown()``, kills whatever of it is left, so stopping never leaves a process behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psutil
from thespian.actors import ActorAddress, ActorSystem

from sfa.actors.messages import Envelope, Spawn, Subscribe, Subscribed
from sfa.actors.nursery import Nursery
from sfa.config import NETWORKED_ACTOR_BASES
from sfa.log import SecretFilteringFormatter

log = logging.getLogger(__name__)

NURSERY = f"{Nursery.__module__}.{Nursery.__qualname__}"
LISTEN_S = 0.25
START_TIMEOUT_S = 10.0
STOP_GRACE_S = 5.0

Receiver = Callable[[Any], None]


def _no_parent_wakeup_fd() -> None:
    """Forked actor processes inherit the server loop's signal wakeup fd; a signal they catch (SIGTERM)
    would be written into the server's loop and read there as the server's own SIGTERM."""
    with contextlib.suppress(ValueError):
        signal.set_wakeup_fd(-1)


os.register_at_fork(after_in_child=_no_parent_wakeup_fd)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def log_definitions(level: str) -> dict[str, Any]:
    """Thespian's logging config for its processes (its ``logDefs=False`` breaks child start-up in 4.0.1)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"actor": {"()": SecretFilteringFormatter,
                                 "fmt": "%(asctime)s %(levelname)s %(name)s [actor] %(message)s"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "actor"}},
        "root": {"level": level.upper(), "handlers": ["stderr"]},
    }


class ActorSystemBridge:
    def __init__(self, base: str = "multiprocQueueBase", *, admin_port: int = 0, log_level: str = "warning") -> None:
        self.base = base
        self.admin_port = (admin_port or free_port()) if base in NETWORKED_ACTOR_BASES else None
        self.log_level = log_level
        self.sid: int | None = None
        self.nursery_pid: int | None = None
        self._system: ActorSystem | None = None
        self._nursery: ActorAddress | None = None
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="thespian-tell")
        self._listener: threading.Thread | None = None
        self._listening = threading.Event()
        self._routes: dict[int, Receiver] = {}
        self._refs = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> ActorSystemBridge:
        self._loop = asyncio.get_running_loop()
        await self._loop.run_in_executor(self._executor, self._open)
        subscribed: asyncio.Future[Subscribed] = self._loop.create_future()
        self._listening.set()
        self._listener = threading.Thread(target=self._listen, args=(subscribed,), name="thespian-listen",
                                          daemon=True)
        self._listener.start()
        reply = await asyncio.wait_for(subscribed, START_TIMEOUT_S)
        self.nursery_pid = reply.nursery_pid
        # A base that does not daemonise shares our Unix session (sid): reaping it would kill the server.
        self.sid = reply.sid if reply.sid != os.getsid(0) else None
        if self.admin_port is not None:
            log.warning("actor system %s listens on every interface (admin port %d) and unpickles what arrives: "
                        "only a firewall or a trusted network stands between it and other hosts",
                        self.base, self.admin_port)
        log.info("actor system %s up in Unix session %s", self.base, self.sid)
        return self

    def _open(self) -> None:
        capabilities = {} if self.admin_port is None else {"Admin Port": self.admin_port}
        self._system = ActorSystem(self.base, capabilities,
                                   logDefs=log_definitions(self.log_level), transientUnique=True)
        self._nursery = self._system.createActor(NURSERY)

    def _listen(self, subscribed: asyncio.Future[Subscribed]) -> None:
        with self._system.private() as endpoint:
            endpoint.tell(self._nursery, Subscribe(owner_pid=os.getpid()))
            while self._listening.is_set():
                message = endpoint.listen(LISTEN_S)
                match message:
                    case None:
                        continue
                    case Subscribed():
                        self._loop.call_soon_threadsafe(subscribed.set_result, message)
                    case Envelope():
                        self._loop.call_soon_threadsafe(self._deliver, message)
                    case _:
                        log.warning("actor bridge dropped an unknown message %r", message)

    def _deliver(self, envelope: Envelope) -> None:
        receiver = self._routes.get(envelope.ref)
        if receiver is None:
            log.debug("no receiver for actor %d: %r", envelope.ref, envelope.message)
            return
        receiver(envelope.message)

    async def tell(self, address: ActorAddress, message: Any) -> None:
        await self._loop.run_in_executor(self._executor, self._system.tell, address, message)

    async def spawn(self, actor_class: str, device: str, performers: Mapping[str, str],
                    receiver: Receiver) -> int:
        """Ask the nursery for a new actor; everything it (or the nursery about it) reports goes to
        ``receiver`` on the loop, starting with ``Ready`` or ``SpawnFailed`` and ending with ``Exited``."""
        ref = next(self._refs)
        self._routes[ref] = receiver
        await self.tell(self._nursery, Spawn(ref, actor_class, device, dict(performers)))
        return ref

    def forget(self, ref: int) -> None:
        self._routes.pop(ref, None)

    def processes(self) -> list[psutil.Process]:
        """Every live process of this actor system: its admin, logger, nursery and actors."""
        if self.sid is None:
            return []
        return processes_in(self.sid)

    async def stop(self) -> None:
        if self._system is not None:
            await self._loop.run_in_executor(self._executor, self._system.shutdown)
        self._listening.clear()
        if self._listener is not None:
            await asyncio.to_thread(self._listener.join)
        self._executor.shutdown()
        if self.sid is not None:
            await asyncio.to_thread(reap, self.sid)
        self._routes.clear()


def processes_in(sid: int) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter():
        with contextlib.suppress(ProcessLookupError, psutil.Error):
            if os.getsid(process.pid) == sid and process.status() != psutil.STATUS_ZOMBIE:
                found.append(process)
    return found


def reap(sid: int) -> None:
    """Wait for Thespian's own shutdown to finish, then SIGKILL the actor system's processes still there."""
    deadline = time.monotonic() + STOP_GRACE_S
    while (left := processes_in(sid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    for process in left:
        log.warning("actor process %d outlived the actor system shutdown; killing it", process.pid)
        with contextlib.suppress(psutil.Error):
            process.send_signal(signal.SIGKILL)
    # The Unix session's leader is the admin, started as our own child: collect its exit status, or it stays a zombie.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(sid, os.WNOHANG)
