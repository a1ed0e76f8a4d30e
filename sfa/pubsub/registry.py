"""The subscriptions held in this process, by topic."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass

from sfa.pubsub.broadcast import Broadcast

log = logging.getLogger(__name__)

Subscriber = Callable[[Broadcast], None]
"""Called in the event loop for each broadcast; it must not block (actors put it in their mailbox)."""


@dataclass(frozen=True, slots=True)
class Subscription:
    registry: Registry
    topic: str
    key: int

    def cancel(self) -> None:
        """Stop delivery; cancelling twice is harmless."""
        self.registry.unsubscribe(self)


class Registry:
    def __init__(self) -> None:
        self._topics: dict[str, dict[int, Subscriber]] = {}
        self._keys = itertools.count()

    def subscribe(self, topic: str, subscriber: Subscriber) -> Subscription:
        subscription = Subscription(self, topic, next(self._keys))
        self._topics.setdefault(topic, {})[subscription.key] = subscriber
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        subscribers = self._topics.get(subscription.topic, {})
        subscribers.pop(subscription.key, None)
        if not subscribers:
            self._topics.pop(subscription.topic, None)

    def subscribers(self, topic: str) -> int:
        return len(self._topics.get(topic, ()))

    def dispatch(self, message: Broadcast) -> None:
        for subscriber in list(self._topics.get(message.topic, {}).values()):
            # One subscriber's bug must not starve the others of the broadcast.
            try:
                subscriber(message)
            except Exception:
                log.exception("subscriber %r failed on %s %s", subscriber, message.topic, message.event)
