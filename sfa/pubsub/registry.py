"""The subscriptions held in this process, by topic, and the fastlane that spares a broadcast most of them.

A subscription with a :class:`Fastlane` (Phoenix's fastlane) does not get a broadcast whose event it does
not intercept: the broadcast is encoded once per encoder for the whole dispatch, and the same frame object
is written to every such subscriber's connection. Sockets joined to one topic thus cost one encode per wire
format and one write each, not a trip through each channel's mailbox and an encode per socket. A frame an
encoder cannot make (a V1 socket given binary data) goes to the subscriber itself instead, whose own path
reports it as it would without the fastlane.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from sfa.pubsub.broadcast import Broadcast

log = logging.getLogger(__name__)

Subscriber = Callable[[Broadcast], None]
"""Called in the event loop for each broadcast; it must not block (actors put it in their mailbox)."""


class Encoder(Protocol):
    """A wire format; one instance serves every connection that speaks it (it is the cache's key)."""

    def encode(self, message: Broadcast) -> Any:
        """The frame for ``message``."""


@dataclass(frozen=True, slots=True)
class Fastlane:
    """Where a subscriber's broadcasts go without passing through the subscriber."""

    encoder: Encoder
    write: Callable[[Any], None]
    """Takes the frame ``encoder`` made; must not block."""
    intercepts: frozenset[str] = frozenset()
    """Events the subscriber itself handles (Phoenix's ``intercept``), so they go to it instead."""


@dataclass(frozen=True, slots=True)
class Subscription:
    registry: Registry
    topic: str
    key: int

    def cancel(self) -> None:
        """Stop delivery; cancelling twice is harmless."""
        self.registry.unsubscribe(self)


_UNENCODABLE = object()


class Registry:
    def __init__(self) -> None:
        self._topics: dict[str, dict[int, tuple[Subscriber, Fastlane | None]]] = {}
        self._keys = itertools.count()

    def subscribe(self, topic: str, subscriber: Subscriber, fastlane: Fastlane | None = None) -> Subscription:
        subscription = Subscription(self, topic, next(self._keys))
        self._topics.setdefault(topic, {})[subscription.key] = (subscriber, fastlane)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        subscribers = self._topics.get(subscription.topic, {})
        subscribers.pop(subscription.key, None)
        if not subscribers:
            self._topics.pop(subscription.topic, None)

    def subscribers(self, topic: str) -> int:
        return len(self._topics.get(topic, ()))

    def dispatch(self, message: Broadcast) -> None:
        started = time.perf_counter()
        frames: dict[Encoder, Any] = {}
        subscribers = list(self._topics.get(message.topic, {}).values())
        for subscriber, fastlane in subscribers:
            # One subscriber's bug must not starve the others of the broadcast.
            try:
                if fastlane is None or message.event in fastlane.intercepts:
                    subscriber(message)
                    continue
                frame = frames.get(fastlane.encoder)
                if frame is None:
                    frame = frames[fastlane.encoder] = _encode(fastlane.encoder, message)
                if frame is _UNENCODABLE:
                    subscriber(message)
                else:
                    fastlane.write(frame)
            except Exception:
                log.exception("subscriber %r failed on %s %s", subscriber, message.topic, message.event)
        log.debug("dispatched %s %s to %d subscribers (%d encodes) in %.1f ms", message.topic, message.event,
                  len(subscribers), len(frames), (time.perf_counter() - started) * 1000)


def _encode(encoder: Encoder, message: Broadcast) -> Any:
    try:
        return encoder.encode(message)
    except (TypeError, ValueError):
        return _UNENCODABLE
