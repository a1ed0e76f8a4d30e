"""The channel behaviour (Phoenix.Channel): one subclass per topic pattern, one instance per joined topic.

A subclass decides in :meth:`Channel.join` who may join, and answers client events with methods marked
``@handles("event")``. Broadcasts on its subscriptions go straight to its client, encoded once for every
socket that speaks the same wire format (:class:`sfa.pubsub.Fastlane`), unless the class names the event in
``intercepts``: those reach :meth:`Channel.handle_out` instead, to be changed, filtered or sent as they are.

A handler returns ``None`` (no reply), ``Ok(response)`` or ``Error(response)``; anything else is a bug and
raises ``TypeError``. An exception in a handler crashes only this channel: its
client gets ``phx_error`` on the topic and rejoins.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from sfa.db.database import Database
from sfa.pubsub import Broadcast, PubSub, Subscription
from sfa.web.phoenix.message import Message, Outgoing, Payload

if TYPE_CHECKING:
    from sfa.accounts import User
    from sfa.actors.presence import UserPresence


@dataclass(frozen=True, slots=True)
class Ok:
    response: Payload = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Error:
    response: Payload = field(default_factory=dict)


HandlerResult = Ok | Error | None
Handler = Callable[[Any, Payload], Awaitable[HandlerResult]]


class JoinRefused(Exception):
    """Raised by :meth:`Channel.join` to refuse; ``response`` goes to the client in the error reply."""

    def __init__(self, response: dict[str, Any]) -> None:
        super().__init__(response)
        self.response = response


@dataclass(frozen=True, slots=True)
class SocketContext:
    """What every channel of one connection shares: who connected, and the server's services."""

    user: User
    database: Database
    pubsub: PubSub
    presence: UserPresence | None = None
    connect_info: Mapping[str, Any] = field(default_factory=dict)
    """What the endpoint's ``connect_info`` hook gathered from the connecting request (Phoenix's connect_info)."""


def handles(event: str) -> Callable[[Handler], Handler]:
    """Mark a method as the handler of client ``event`` on its channel."""

    def mark(method: Handler) -> Handler:
        method.handles_event = event
        return method

    return mark


class Channel:
    handlers: ClassVar[dict[str, str]] = {}
    """Client event -> method name, collected from ``@handles`` when the subclass is defined."""
    intercepts: ClassVar[frozenset[str]] = frozenset()
    """Broadcast events that go through :meth:`handle_out` rather than straight to the client."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "handle_out" in vars(cls) and not cls.intercepts:
            raise TypeError(f"{cls.__name__} defines handle_out but intercepts no event; name the events it "
                            "handles in `intercepts` (the others bypass it)")
        marked = {getattr(method, "handles_event", None): name for name, method in vars(cls).items()}
        marked.pop(None, None)
        cls.handlers = {**cls.handlers, **marked}

    def __init__(self, topic: str, join_ref: str | None, context: SocketContext,
                 send: Callable[[Outgoing], None]) -> None:
        self.topic = topic
        self.join_ref = join_ref
        self.context = context
        self._send = send
        self._mailbox: Callable[[Broadcast], None] | None = None
        self._subscriptions: list[Subscription] = []

    async def join(self, payload: Payload) -> dict[str, Any]:
        """Accept by returning the reply's response (often ``{}``); refuse by raising :class:`JoinRefused`."""
        raise NotImplementedError(f"{type(self).__name__} must decide who may join")

    def subscriptions(self) -> tuple[str, ...]:
        """The PubSub topics whose broadcasts reach :meth:`handle_out` while joined."""
        return (self.topic,)

    async def handle_out(self, broadcast: Broadcast) -> None:
        """A broadcast of an intercepted event on a subscribed topic; by default it goes to the client unchanged
        (as does a broadcast the fastlane could not encode for this client, to fail here as a push would)."""
        self._send(broadcast)

    def subscribe(self, topic: str) -> None:
        """While joined, also hear ``topic``'s broadcasts in :meth:`handle_out` (for topics known only later)."""
        if self._mailbox is None:
            raise RuntimeError("subscribe once joined; topics known at join go in subscriptions()")
        self._subscriptions.append(self.context.pubsub.subscribe(topic, self._mailbox))

    def attach(self, mailbox: Callable[[Broadcast], None]) -> None:
        """Called by the channel's server: where :meth:`subscribe` delivers."""
        self._mailbox = mailbox

    def detach(self) -> None:
        """Called by the channel's server as it exits: ends what :meth:`subscribe` started."""
        for subscription in self._subscriptions:
            subscription.cancel()
        self._subscriptions.clear()

    def push(self, event: str, payload: Payload) -> None:
        """Send ``event`` to this channel's client alone."""
        self._send(Message(self.topic, event, payload, None, self.join_ref))

    def handler(self, event: str) -> Handler | None:
        name = self.handlers.get(event)
        return None if name is None else getattr(type(self), name)
