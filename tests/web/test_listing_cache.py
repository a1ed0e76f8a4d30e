"""Track listings are remembered per web process and forgotten on every node as soon as the owner's tracks
change, whoever changes them: two app instances on one database, each with its own pool and PubSub,
remembering for five minutes, so only the news (or the writing request itself) can explain a change seen
within seconds. A write that bypasses the trigger shows the listing really is served from memory."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp.test_utils import TestClient

from sfa.config import Config, RateLimit
from sfa.db import Database
from sfa.pubsub import Broadcast
from sfa.pubsub.postgres import LISTENING, NEWS_TOPIC, NOT_LISTENING
from sfa.tracks.store import create_track
from sfa.web.keys import PUBSUB
from sfa.web.listing_cache import ListingCache

NEWS_WITHIN_S = 3.0


@pytest.fixture
def config(config: Config) -> Config:
    return config.replace(listing_cache_s=300, rate_api=RateLimit(100_000, 60))


async def titles(client: TestClient, headers: dict[str, str], query: str = "") -> list[str]:
    reply = await client.get(f"/api/tracks{query}", headers=headers)
    assert reply.status == 200
    return [track["title"] for track in (await reply.json())["data"]]


async def eventually(client: TestClient, headers: dict[str, str], expected: list[str]) -> None:
    """The listing reads ``expected`` within NEWS_WITHIN_S (far under the 300 s a page would live)."""
    deadline = asyncio.get_running_loop().time() + NEWS_WITHIN_S
    while (seen := await titles(client, headers)) != expected:
        assert asyncio.get_running_loop().time() < deadline, f"still {seen}, expected {expected}"
        await asyncio.sleep(0.05)


async def add_track(database: Database, user_id: int, title: str) -> int:
    async with database.pool.acquire() as conn:
        return (await create_track(conn, user_id, title=title, artist=None, source="url")).id


async def without_news(database: Database, statement: str, *args: object) -> None:
    """Run ``statement`` on tracks with the news triggers off, in one transaction no other session sees."""
    async with database.pool.acquire() as conn, conn.transaction():
        await conn.execute("ALTER TABLE tracks DISABLE TRIGGER USER")
        await conn.execute(statement, *args)
        await conn.execute("ALTER TABLE tracks ENABLE TRIGGER USER")


async def test_a_listing_is_served_from_memory_until_news_of_a_change(client, database, make_account):
    account = await make_account()
    track_id = await add_track(database, account.user.id, "First")
    assert await titles(client, account.headers) == ["First"]

    await without_news(database, "UPDATE tracks SET title = 'Unheard' WHERE id = $1", track_id)
    await asyncio.sleep(0.2)
    assert await titles(client, account.headers) == ["First"]
    assert await titles(client, account.headers, "?page_size=5") == ["Unheard"]

    await database.pool.execute("UPDATE tracks SET artist = 'Someone' WHERE id = $1", track_id)
    await eventually(client, account.headers, ["Unheard"])


async def test_every_writer_is_heard_on_every_node(client, other_node, database, make_account):
    """A worker process writes with SQL of its own; an insert, an update, a delete, and tracks moving from one
    owner to another (news for both) each reach both nodes' memory."""
    account, other = await make_account(), await make_account()
    await add_track(database, account.user.id, "One")
    await add_track(database, other.user.id, "Theirs")
    for node in (client, other_node):
        assert await titles(node, account.headers) == ["One"]
        assert await titles(node, other.headers) == ["Theirs"]

    two = await add_track(database, account.user.id, "Two")
    for node in (client, other_node):
        await eventually(node, account.headers, ["Two", "One"])
    await database.pool.execute("UPDATE tracks SET title = 'Second' WHERE id = $1", two)
    for node in (client, other_node):
        await eventually(node, account.headers, ["Second", "One"])
    await database.pool.execute("DELETE FROM tracks WHERE id = $1", two)
    for node in (client, other_node):
        await eventually(node, account.headers, ["One"])
        assert await titles(node, other.headers) == ["Theirs"]

    await database.pool.execute("UPDATE tracks SET user_id = $2 WHERE user_id = $1", other.user.id, account.user.id)
    for node in (client, other_node):
        await eventually(node, account.headers, ["Theirs", "One"])
        await eventually(node, other.headers, [])


async def test_a_clients_own_write_is_in_its_next_read_on_the_same_node(client, other_node, database, make_account):
    account = await make_account()
    track_id = await add_track(database, account.user.id, "Before")
    for round_ in range(20):
        assert await titles(client, account.headers) == [f"Before{round_ or ''}"]
        changed = await client.patch(f"/api/tracks/{track_id}", json={"title": f"Before{round_ + 1}"},
                                     headers=account.headers)
        assert changed.status == 200
    assert await titles(client, account.headers) == ["Before20"]
    await eventually(other_node, account.headers, ["Before20"])

    assert (await client.delete(f"/api/tracks/{track_id}", headers=account.headers)).status == 204
    assert await titles(client, account.headers) == []


async def test_nothing_is_served_while_news_may_be_missed(client, database, make_account):
    """The LISTEN connection is cut: until it is back every listing is read afresh, and what was remembered
    before the gap is gone after it."""
    account = await make_account()
    track_id = await add_track(database, account.user.id, "Heard")
    assert await titles(client, account.headers) == ["Heard"]
    listeners = await database.pool.fetch(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN %'")
    assert listeners
    await database.pool.execute("SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid",
                                [row["pid"] for row in listeners])
    await without_news(database, "UPDATE tracks SET title = 'Missed' WHERE id = $1", track_id)
    deadline = asyncio.get_running_loop().time() + NEWS_WITHIN_S
    while (seen := await titles(client, account.headers)) != ["Missed"]:
        assert asyncio.get_running_loop().time() < deadline, f"still {seen}"
        await asyncio.sleep(0.05)

    pubsub = client.server.app[PUBSUB]
    while not pubsub.listening:
        assert asyncio.get_running_loop().time() < deadline, "the PubSub did not listen again"
        await asyncio.sleep(0.05)
    assert await titles(client, account.headers) == ["Missed"]
    await without_news(database, "UPDATE tracks SET title = 'Unheard' WHERE id = $1", track_id)
    assert await titles(client, account.headers) == ["Missed"]


def page(n: int) -> bytes:
    return b"[" + str(n).encode() + b"]"


def listening_cache(ttl_s: float, clock=None) -> ListingCache:
    cache = ListingCache(ttl_s, clock=clock) if clock else ListingCache(ttl_s)
    cache.on_broadcast(Broadcast(NEWS_TOPIC, LISTENING, {}))
    return cache


def test_entries_expire_and_a_lookup_older_than_its_users_news_is_not_stored():
    now = [0.0]
    cache = listening_cache(10, clock=lambda: now[0])
    cache.put(1, "a", page(1), cache.generation())
    assert cache.get(1, "a") == page(1)
    now[0] = 10.0
    assert cache.get(1, "a") is None

    before_lookup = cache.generation()
    cache.forget_user(2)
    cache.put(2, "b", page(2), before_lookup)
    assert cache.get(2, "b") is None
    cache.put(3, "c", page(3), before_lookup)
    assert cache.get(3, "c") == page(3)

    cache.on_broadcast(Broadcast("tracks", "changed", {"user_id": 3}))
    assert cache.get(3, "c") is None
    cache.put(4, "d", page(4), cache.generation())
    cache.on_broadcast(Broadcast("tracks", "changed", {"user_id": None}))
    assert cache.get(4, "d") is None


def test_not_listening_serves_and_stores_nothing_and_zero_seconds_remembers_nothing():
    cache = listening_cache(10)
    cache.put(1, "a", page(1), cache.generation())
    cache.on_broadcast(Broadcast(NEWS_TOPIC, NOT_LISTENING, {}))
    assert cache.get(1, "a") is None
    cache.put(1, "a", page(1), cache.generation())
    cache.on_broadcast(Broadcast(NEWS_TOPIC, LISTENING, {}))
    assert cache.get(1, "a") is None
    assert ListingCache(10).get(1, "a") is None

    never = listening_cache(0)
    never.put(1, "a", page(1), never.generation())
    assert never.get(1, "a") is None


def test_memory_is_bounded(monkeypatch):
    monkeypatch.setattr("sfa.web.listing_cache.MAX_PAGES", 100)
    monkeypatch.setattr("sfa.web.listing_cache.MAX_CHANGED_USERS", 10)
    cache = listening_cache(10)
    before_news = cache.generation()
    for n in range(1000):
        cache.put(n % 37, n, page(n), cache.generation())
        assert cache._size == sum(map(len, cache._pages.values())) <= 100
    for user_id in range(25):
        cache.forget_user(user_id)
    assert len(cache._last_news) <= 10
    cache.put(99, "x", page(1), before_news)
    assert cache.get(99, "x") is None
