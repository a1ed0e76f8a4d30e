"""The in-loop actor that runs one joined channel: an asyncio task reading a mailbox (Phoenix.Channel.Server).

Its mailbox takes the client's pushes for the topic and the PubSub broadcasts of the events the channel
intercepts; the others go from PubSub to the socket by the ``fastlane`` without waking this actor.
It exits normally on ``phx_leave`` or when stopped, and abnormally when a handler raises or its mailbox
overflows (a handler too slow for the broadcasts it gets); either way it tells its socket with
:class:`ChannelExited`, and the socket tells the client (``phx_close`` or ``phx_error``). A join that ends
without answering (its reply could not even be encoded) is answered ``join crashed`` and counts as refused,
so the socket waiting on it always carries on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from sfa.pubsub import Broadcast, Fastlane
from sfa.web.phoenix.channel import Channel, Error, JoinRefused, Ok
from sfa.web.phoenix.message import Message, Outgoing, Payload, Reply

log = logging.getLogger(__name__)

LEGAL_RESULTS = "None, Ok(response) or Error(response)"
JOIN_CRASHED = {"reason": "join crashed"}


@dataclass(frozen=True, slots=True)
class ChannelExited:
    server: ChannelServer
    crashed: bool


class ChannelServer:
    def __init__(self, channel: Channel, *, send: Callable[[Outgoing], None], fastlane: Fastlane | None,
                 on_exit: Callable[[ChannelExited], None], mailbox_max: int) -> None:
        self.channel = channel
        channel.attach(self.send)
        self._send = send
        self._fastlane = fastlane
        self._on_exit = on_exit
        self._mailbox: asyncio.Queue[Message | Broadcast] = asyncio.Queue(maxsize=mailbox_max)
        self._task: asyncio.Task | None = None
        self._overflowed = False

    @property
    def topic(self) -> str:
        return self.channel.topic

    @property
    def join_ref(self) -> str | None:
        return self.channel.join_ref

    async def join(self, payload: Payload, ref: str | None) -> bool:
        """Start the actor and run the channel's join; True once joined, False when refused or crashed.

        The join reply is sent from the actor itself, before anything the channel pushes afterwards.
        """
        joined: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(self._run(payload, ref, joined), name=f"channel {self.topic}")
        self._task.add_done_callback(lambda task: self._on_stopped(task, ref, joined))
        return await joined

    def send(self, message: Message | Broadcast) -> None:
        """Queue ``message``; a full mailbox crashes the channel (its client rejoins) instead of growing."""
        try:
            self._mailbox.put_nowait(message)
        except asyncio.QueueFull:
            if not self._overflowed and self._task is not None:
                log.error("channel %s crashed: %d messages waiting (mailbox full)", self.topic,
                          self._mailbox.maxsize)
                self._overflowed = True
                self._task.cancel()

    async def stop(self) -> None:
        """Stop the actor (a normal exit) and wait until it has."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self, payload: Payload, ref: str | None, joined: asyncio.Future[bool]) -> None:
        started = time.perf_counter()
        try:
            response = await self._join(payload)
        except JoinRefused as refused:
            self._reply(ref, "error", refused.response)
            log.info("join %s refused in %.1f ms: %s", self.topic, _ms_since(started), refused.response)
            _settle(joined, False)
            return
        except Exception:
            log.exception("join %s crashed", self.topic)
            self._reply(ref, "error", JOIN_CRASHED)
            _settle(joined, False)
            return
        subscriptions = []
        crashed = True
        try:
            subscriptions = [self.channel.context.pubsub.subscribe(topic, self.send, self._fastlane)
                             for topic in self.channel.subscriptions()]
            self._reply(ref, "ok", response)
            _settle(joined, True)
            log.info("joined %s as user %s in %.1f ms", self.topic, self.channel.context.user.id,
                     _ms_since(started))
            await self._serve()
            crashed = False
        except asyncio.CancelledError:
            crashed = self._overflowed
            raise
        except Exception:
            log.exception("channel %s crashed", self.topic)
        finally:
            for subscription in subscriptions:
                subscription.cancel()
            self.channel.detach()
            if joined.done():
                self._on_exit(ChannelExited(self, crashed))

    def _on_stopped(self, task: asyncio.Task[None], ref: str | None, joined: asyncio.Future[bool]) -> None:
        """An exception that escaped the actor is logged; a join it never answered is answered here."""
        crash = None if task.cancelled() else task.exception()
        if crash is not None:
            log.error("channel %s crashed", self.topic, exc_info=crash)
        if not joined.done():
            self._reply(ref, "error", JOIN_CRASHED)
            _settle(joined, False)

    async def _join(self, payload: Payload) -> dict:
        response = await self.channel.join(payload)
        if not isinstance(response, dict):
            raise TypeError(f"{type(self.channel).__name__}.join returned {response!r}; expected a dict "
                            "to accept or JoinRefused to refuse")
        return response

    async def _serve(self) -> None:
        while True:
            message = await self._mailbox.get()
            match message:
                case Message(event="phx_leave", ref=ref):
                    self._reply(ref, "ok", {})
                    return
                case Message():
                    await self._handle_in(message)
                case Broadcast():
                    await self.channel.handle_out(message)
                case _:
                    log.warning("channel %s dropped an unknown message %r", self.topic, message)

    async def _handle_in(self, message: Message) -> None:
        started = time.perf_counter()
        handler = self.channel.handler(message.event)
        if handler is None:
            self._reply(message.ref, "error", {"reason": f"unhandled event {message.event!r}"})
            return
        match await handler(self.channel, message.payload):
            case None:
                pass
            case Ok(response=response):
                self._reply(message.ref, "ok", response)
            case Error(response=response):
                self._reply(message.ref, "error", response)
            case other:
                raise TypeError(f"{type(self.channel).__name__}.{message.event} handler returned {other!r}; "
                                f"expected {LEGAL_RESULTS}")
        log.debug("handled %s %s in %.1f ms", self.topic, message.event, _ms_since(started))

    def _reply(self, ref: str | None, status: str, response: Payload) -> None:
        self._send(Reply(self.topic, status, response, ref, self.join_ref))


def _settle(joined: asyncio.Future[bool], outcome: bool) -> None:
    """Answer the socket's wait, unless the socket stopped waiting (it was closed meanwhile)."""
    if not joined.done():
        joined.set_result(outcome)


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000
