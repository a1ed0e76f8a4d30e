"""The channel behaviour (Phoenix.Channel): one subclass per topic pattern, one instance per joined topic.

A subclass decides in :meth:`Channel.join` who may join, and answers client events with methods marked
``@handles("event")``. A handler returns ``None`` (no reply), ``Ok(response)`` or ``Error(response)``;
anything else is a bug and raises ``TypeError``. An exception in a handler crashes only this channel: its
client gets ``phx_error`` on the topic and rejoins.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from sfa.db.database import Database
from sfa.pubsub import Broadcast, PubSub
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


def handles(event: str) -> Callable[[Handler], Handler]:
    """Mark a method as the handler of client ``event`` on its channel."""

    def mark(method: Handler) -> Handler:
        method.handles_event = event
        return method

    return mark


class Channel:
    handlers: ClassVar[dict[str, str]] = {}
    """Client event -> method name, collected from ``@handles`` when the subclass is defined."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        marked = {getattr(method, "handles_event", None): name for name, method in vars(cls).items()}
        marked.pop(None, None)
        cls.handlers = {**cls.handlers, **marked}

    def __init__(self, topic: str, join_ref: str | None, context: SocketContext,
                 send: Callable[[Outgoing], None]) -> None:
        self.topic = topic
        self.join_ref = join_ref
        self.context = context
        self._send = send

    async def join(self, payload: Payload) -> dict[str, Any]:
        """Accept by returning the reply's response (often ``{}``); refuse by raising :class:`JoinRefused`."""
        raise NotImplementedError(f"{type(self).__name__} must decide who may join")

    def subscriptions(self) -> tuple[str, ...]:
        """The PubSub topics whose broadcasts reach :meth:`handle_out` while joined."""
        return (self.topic,)

    async def handle_out(self, broadcast: Broadcast) -> None:
        """A broadcast on a subscribed topic; by default it goes to the client unchanged."""
        self._send(broadcast)

    def push(self, event: str, payload: Payload) -> None:
        """Send ``event`` to this channel's client alone."""
        self._send(Message(self.topic, event, payload, None, self.join_ref))

    def handler(self, event: str) -> Handler | None:
        name = self.handlers.get(event)
        return None if name is None else getattr(type(self), name)
