"""Track listings remembered in each web process until their owner's tracks change, so a client polling its
library costs no query (the listing was the dearest part of a REST request: a round trip and the backend's
page, five times a bare handler's whole cost).

Every write to ``tracks`` from any process (a web node, a worker-only node, a cascade from a deleted user)
fires ``tracks_changed`` (``sql/0008_listing_news.sql``), which NOTIFYs ``{"user_id": …}`` on the PubSub
channel in the writing transaction; every process drops that user's pages as it hears it. A job's own
``job:completed`` is sent in the transaction that recorded its result, after the trigger's news, so a client
that hears the job finish and lists its tracks reads the new row. A request that writes drops its user's
pages itself before answering (the news reaches even its own node a little after the commit), so a client's
own read after its own write never sees the old page. While the PubSub's LISTEN connection is down nothing is
served or stored (news may be missed), and what was stored before is dropped when it is back.
A lookup that was under way when news of its user came is not stored.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable

from sfa.pubsub import Broadcast
from sfa.pubsub.postgres import LISTENING, NEWS_TOPIC

TOPIC = "tracks"
CHANGED = "changed"
MAX_PAGES = 10_000
MAX_CHANGED_USERS = 100_000

Page = bytes


class ListingCache:
    """Pages of a listing (the response bodies) by user and by what was asked."""

    def __init__(self, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self._clock = clock
        self._pages: dict[int, dict[Hashable, tuple[float, Page]]] = {}
        self._size = 0
        # News counted as it comes; a user's last news by that count, and a floor under which every lookup is
        # too old (set when the map of last news is cut short, or the news may have been missed).
        self._news = 0
        self._last_news: dict[int, int] = {}
        self._floor = 0
        self._listening = False

    def get(self, user_id: int, key: Hashable) -> Page | None:
        entry = self._pages.get(user_id, {}).get(key)
        if entry is None or not self._listening:
            return None
        if entry[0] <= self._clock():
            self._drop(user_id, key)
            return None
        return entry[1]

    def generation(self) -> int:
        """Taken before a lookup and handed to :meth:`put`, which ignores a lookup older than its user's news."""
        return self._news

    def put(self, user_id: int, key: Hashable, page: Page, generation: int) -> None:
        if (self.ttl_s <= 0 or not self._listening or generation < self._floor
                or self._last_news.get(user_id, -1) > generation):
            return
        if key not in self._pages.get(user_id, {}):
            if self._size >= MAX_PAGES:
                self._make_room()
            self._size += 1
        self._pages.setdefault(user_id, {})[key] = (self._clock() + self.ttl_s, page)

    def forget_user(self, user_id: int) -> None:
        self._news += 1
        if len(self._last_news) >= MAX_CHANGED_USERS:
            self._last_news.clear()
            self._floor = self._news
        self._last_news[user_id] = self._news
        self._size -= len(self._pages.pop(user_id, ()))

    def forget_all(self) -> None:
        self._news += 1
        self._floor = self._news
        self._last_news.clear()
        self._pages.clear()
        self._size = 0

    def hear(self, listening: bool) -> None:
        """Serve and store only while the PubSub hears the news; what was stored before a gap is dropped."""
        self._listening = listening
        self.forget_all()

    def on_broadcast(self, message: Broadcast) -> None:
        """The PubSub subscriber on :data:`TOPIC` and on the PubSub's own news (:data:`NEWS_TOPIC`)."""
        if message.topic == NEWS_TOPIC:
            self.hear(message.event == LISTENING)
        elif message.event == CHANGED and isinstance(message.payload, dict):
            user_id = message.payload.get("user_id")
            if isinstance(user_id, int):
                self.forget_user(user_id)
            else:  # the table was emptied
                self.forget_all()

    def _drop(self, user_id: int, key: Hashable) -> None:
        pages = self._pages[user_id]
        del pages[key]
        self._size -= 1
        if not pages:
            del self._pages[user_id]

    def _make_room(self) -> None:
        now = self._clock()
        for user_id, pages in list(self._pages.items()):
            for key in [key for key, (expires_at, _) in pages.items() if expires_at <= now]:
                self._drop(user_id, key)
        while self._size >= MAX_PAGES:
            self._size -= len(self._pages.pop(next(iter(self._pages))))
