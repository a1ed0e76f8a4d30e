"""The in-loop actor behind one client connection, whatever its transport (Phoenix.Socket).

The transport hands it the client's frames with :meth:`PhoenixSocket.receive` and sends what appears in
:attr:`PhoenixSocket.outbox`; a transport that can write without waiting sets :attr:`PhoenixSocket.write_now`,
and frames go straight to it while nothing waits in the outbox (most broadcasts reach a socket this way, by
the PubSub fastlane, without a task switch). The actor decodes each frame, answers heartbeats, starts a
:class:`ChannelServer` per joined topic and routes pushes to it. The outbox is bounded: a client that reads
too slowly to keep up is disconnected (with the reason logged) rather than buffered without limit.

Every frame gets an answer or a close: a frame that does not decode closes the socket with 1007, and
whatever ends the actor's task (an exception while handling a frame included) closes it with 1011 if it
was not closed already, so no transport holds a connection whose actor is gone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from sfa.actors.presence import Joined, Left
from sfa.pubsub import Fastlane
from sfa.web.phoenix.channel import SocketContext
from sfa.web.phoenix.channel_server import ChannelExited, ChannelServer
from sfa.web.phoenix.message import InvalidMessage, Message, Outgoing, Reply
from sfa.web.phoenix.router import ChannelRouter
from sfa.web.phoenix.serializers import Serializer

log = logging.getLogger(__name__)

# Close codes: RFC 6455's, and what Phoenix uses when it drains on shutdown.
NORMAL, GOING_AWAY, INVALID_DATA, INTERNAL_ERROR, TRY_AGAIN_LATER, DRAINING = 1000, 1001, 1007, 1011, 1013, 1012
INBOX_HIGH_WATER = 100


@dataclass(frozen=True, slots=True)
class SocketLimits:
    idle_timeout_s: float
    outbox_max: int
    max_channels: int = 100


@dataclass(frozen=True, slots=True)
class Incoming:
    frame: str | bytes


@dataclass(frozen=True, slots=True)
class Closed:
    code: int
    reason: str


class PhoenixSocket:
    def __init__(self, serializer: Serializer, router: ChannelRouter, context: SocketContext,
                 limits: SocketLimits) -> None:
        self.serializer = serializer
        self.context = context
        self.limits = limits
        self.outbox: asyncio.Queue[str | bytes] = asyncio.Queue(maxsize=limits.outbox_max)
        self.write_now: Callable[[str | bytes], bool] | None = None
        """Set by a transport: writes a frame at once and says True, or says False when it cannot now."""
        self.closed: asyncio.Future[Closed] = asyncio.get_running_loop().create_future()
        self._router = router
        self._mailbox: asyncio.Queue[Incoming | ChannelExited] = asyncio.Queue()
        self._inbox_room = asyncio.Event()
        self._inbox_room.set()
        self._channels: dict[str, ChannelServer] = {}
        self._servers: set[ChannelServer] = set()
        self._last_heard = asyncio.get_running_loop().time()
        self._task: asyncio.Task | None = None

    @property
    def channel_count(self) -> int:
        """The channel actors this socket started that have not stopped yet."""
        return len(self._servers)

    def start(self) -> asyncio.Task[None]:
        """Start the actor; the task it returns ends only after :attr:`closed` is set."""
        self._task = asyncio.create_task(self._run(), name=f"socket of user {self.context.user.id}")
        self._task.add_done_callback(self._on_stopped)
        return self._task

    async def wait_stopped(self) -> None:
        """Until the actor and every channel it started have stopped."""
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    def touch(self) -> None:
        """The client is still there (a frame, or a long-poll request)."""
        self._last_heard = asyncio.get_running_loop().time()

    async def receive(self, frame: str | bytes) -> None:
        """Queue a client frame; waits while the actor is far behind, which slows the client down."""
        self.touch()
        self._mailbox.put_nowait(Incoming(frame))
        if self._mailbox.qsize() >= INBOX_HIGH_WATER:
            self._inbox_room.clear()
            await self._inbox_room.wait()

    def push(self, message: Outgoing) -> None:
        """Encode ``message`` and :meth:`write` it."""
        if not self.closed.done():
            self.write(self.serializer.encode(message))

    def write(self, frame: str | bytes) -> None:
        """Send a frame this socket's serializer made, after any still waiting; a full outbox closes the socket."""
        if self.closed.done():
            return
        if self.outbox.empty() and self.write_now is not None and self.write_now(frame):
            return
        try:
            self.outbox.put_nowait(frame)
        except asyncio.QueueFull:
            log.warning("socket of user %s closed: the client fell %d frames behind (outbox full)",
                        self.context.user.id, self.limits.outbox_max)
            self.close(TRY_AGAIN_LATER, "outbox full")

    def close(self, code: int, reason: str) -> None:
        """Stop the actor and its channels; the transport sees :attr:`closed` and disconnects the client."""
        if self.closed.done():
            return
        self.closed.set_result(Closed(code, reason))
        if self._task is not None and self._task is not asyncio.current_task():
            self._task.cancel()

    async def _run(self) -> None:
        try:
            while not self.closed.done():
                message = await self._next()
                match message:
                    case Incoming(frame=frame):
                        await self._on_frame(frame)
                    case ChannelExited():
                        self._on_channel_exit(message)
                    case None:
                        pass
                    case _:
                        log.warning("socket dropped an unknown message %r", message)
        finally:
            self._inbox_room.set()
            for topic in self._channels:
                self._tell_presence(Left(topic))
            await asyncio.gather(*(server.stop() for server in self._servers), return_exceptions=True)
            self._servers.clear()

    def _on_stopped(self, task: asyncio.Task[None]) -> None:
        """However the actor ended, its connection closes: 1011 when nothing had closed it (our bug)."""
        crash = None if task.cancelled() else task.exception()
        if crash is not None:
            log.error("socket of user %s crashed", self.context.user.id, exc_info=crash)
        elif not self.closed.done():
            log.error("socket of user %s stopped without being closed", self.context.user.id)
        self.close(INTERNAL_ERROR, "internal error")

    async def _next(self) -> Incoming | ChannelExited | None:
        """The next message, or None after closing the socket for silence."""
        remaining = self.limits.idle_timeout_s - (asyncio.get_running_loop().time() - self._last_heard)
        if remaining <= 0:
            log.info("socket of user %s closed: silent for %gs", self.context.user.id,
                     self.limits.idle_timeout_s)
            self.close(NORMAL, "idle timeout")
            return None
        try:
            async with asyncio.timeout(remaining):
                message = await self._mailbox.get()
        except TimeoutError:
            return None
        if self._mailbox.qsize() < INBOX_HIGH_WATER // 2:
            self._inbox_room.set()
        return message

    async def _on_frame(self, frame: str | bytes) -> None:
        message = self._decode(frame)
        if message is None:
            return
        match message:
            case Message(topic="phoenix", event="heartbeat", ref=ref):
                self.push(Reply("phoenix", "ok", {}, ref))
            case Message(event="phx_join"):
                await self._join(message)
            case Message(topic=topic) if topic in self._channels:
                self._forward(self._channels[topic], message)
            case Message(event="phx_leave", topic=topic, ref=ref, join_ref=join_ref):
                self.push(Reply(topic, "ok", {}, ref, join_ref))
            case Message(topic=topic, ref=ref, join_ref=join_ref):
                self.push(Reply(topic, "error", {"reason": "unmatched topic"}, ref, join_ref))

    def _decode(self, frame: str | bytes) -> Message | None:
        """The client's frame as a Message, or None after closing with 1007 because it is not one.

        Whatever the client sent, decoding it is where its bytes meet our code: an exception other than
        InvalidMessage is a serializer bug (logged with its traceback), but the frame is still unreadable.
        """
        try:
            return self.serializer.decode(frame)
        except InvalidMessage as exc:
            log.warning("socket of user %s closed: unreadable frame (%s)", self.context.user.id, exc)
            self.close(INVALID_DATA, f"invalid frame: {exc}"[:120])
        except Exception:
            log.exception("socket of user %s closed: the V%s serializer failed on a frame", self.context.user.id,
                          self.serializer.vsn)
            self.close(INVALID_DATA, "invalid frame")
        return None

    def _forward(self, server: ChannelServer, message: Message) -> None:
        # A push for an earlier join of the topic (a stale join_ref) is dropped, as Phoenix does.
        if message.join_ref is None or message.join_ref == server.join_ref:
            server.send(message)

    async def _join(self, message: Message) -> None:
        topic = message.topic
        channel_class = self._router.match(topic)
        if channel_class is None:
            self.push(Reply(topic, "error", {"reason": "unmatched topic"}, message.ref))
            return
        if topic in self._channels:
            await self._replace(self._channels.pop(topic))
        elif len(self._channels) >= self.limits.max_channels:
            self.push(Reply(topic, "error", {"reason": "too many channels joined"}, message.ref,
                            message.join_ref))
            return
        # V1 clients send no join_ref: their join's ref identifies the join instead.
        join_ref = message.ref if message.join_ref is None else message.join_ref
        server = ChannelServer(channel_class(topic, join_ref, self.context, self.push), send=self.push,
                               fastlane=Fastlane(self.serializer, self.write, channel_class.intercepts),
                               on_exit=self._mailbox.put_nowait,
                               mailbox_max=self.limits.outbox_max)
        self._servers.add(server)
        if await server.join(message.payload, message.ref):
            self._channels[topic] = server
            self._tell_presence(Joined(topic))
        else:
            self._servers.discard(server)

    def _tell_presence(self, message: Joined | Left) -> None:
        if self.context.presence is not None:
            self.context.presence.tell(message)

    async def _replace(self, old: ChannelServer) -> None:
        """A second join of a joined topic: the old channel stops and its client hears ``phx_close``."""
        log.info("duplicate join of %s: closing join %s", old.topic, old.join_ref)
        self._tell_presence(Left(old.topic))
        await old.stop()
        self._servers.discard(old)
        self.push(Message(old.topic, "phx_close", {}, old.join_ref, old.join_ref))

    def _on_channel_exit(self, exited: ChannelExited) -> None:
        server = exited.server
        self._servers.discard(server)
        if self._channels.get(server.topic) is not server:
            return
        del self._channels[server.topic]
        self._tell_presence(Left(server.topic))
        event, payload = ("phx_error", {"reason": "channel_crash"}) if exited.crashed else ("phx_close", {})
        self.push(Message(server.topic, event, payload, server.join_ref, server.join_ref))
