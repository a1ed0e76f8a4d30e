"""API tokens' users remembered for a few seconds in each web process, so a client's run of requests costs
one token lookup (a SHA-256 and a query joining the user) rather than one each.

Entries are keyed by the token's digest, never the token. Whatever changes what a token grants (revoking it,
an admin changing its user's role or status) sends :func:`sfa.accounts.tokens.credentials_changed` in its
transaction; every process drops that user's entries as it hears it, by NOTIFY, within milliseconds (the
handler that made the change also drops them at once, so its own next request never sees the old grant).
While the PubSub's LISTEN connection is down (news may be missed) nothing is remembered or served, and what was
remembered before is dropped when it is back; ``SFA_TOKEN_CACHE_S`` bounds an entry's life all the same. A
lookup that was under way when the news came is not remembered.
A token's ``last_used_at`` is written on lookups, so it is as precise as ``SFA_TOKEN_CACHE_S`` plus a minute.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from sfa.accounts.tokens import CREDENTIALS_CHANGED, CREDENTIALS_TOPIC
from sfa.pubsub import Broadcast
from sfa.pubsub.postgres import LISTENING, NEWS_TOPIC

if TYPE_CHECKING:
    from sfa.accounts import User

TOPIC = CREDENTIALS_TOPIC
MAX_ENTRIES = 10_000


class TokenCache:
    def __init__(self, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self._clock = clock
        self._entries: dict[bytes, tuple[float, User]] = {}
        self._generation = 0
        self._listening = False

    def get(self, key: bytes) -> User | None:
        entry = self._entries.get(key)
        if entry is None or not self._listening:
            return None
        if entry[0] <= self._clock():
            del self._entries[key]
            return None
        return entry[1]

    def generation(self) -> int:
        """Taken before a lookup and handed to :meth:`put`, which ignores a lookup older than some news."""
        return self._generation

    def put(self, key: bytes, user: User, generation: int) -> None:
        if self.ttl_s <= 0 or generation != self._generation or not self._listening:
            return
        if len(self._entries) >= MAX_ENTRIES:
            now = self._clock()
            self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.pop(next(iter(self._entries)))
        self._entries[key] = (self._clock() + self.ttl_s, user)

    def forget_user(self, user_id: int) -> None:
        self._generation += 1
        self._entries = {key: entry for key, entry in self._entries.items() if entry[1].id != user_id}

    def hear(self, listening: bool) -> None:
        """Serve and remember only while the PubSub hears the news; what was remembered before a gap is dropped."""
        self._listening = listening
        self._generation += 1
        self._entries = {}

    def on_broadcast(self, message: Broadcast) -> None:
        """The PubSub subscriber on :data:`TOPIC` and on the PubSub's own news (:data:`NEWS_TOPIC`)."""
        if message.topic == NEWS_TOPIC:
            self.hear(message.event == LISTENING)
        elif message.event == CREDENTIALS_CHANGED and isinstance(message.payload, dict):
            user_id = message.payload.get("user_id")
            if isinstance(user_id, int):
                self.forget_user(user_id)
