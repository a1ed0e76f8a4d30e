"""API tokens' users are remembered per process, and forgotten on every node as soon as a token is revoked
or its user suspended or given another role: two app instances on one database, each with its own pool and
PubSub, remembering for five minutes, so only the news can explain a change seen within seconds."""

from __future__ import annotations

import asyncio
import re

import pytest
from aiohttp.test_utils import TestClient

from sfa.accounts import User
from sfa.config import Config
from sfa.pubsub import Broadcast
from sfa.pubsub.postgres import LISTENING, NEWS_TOPIC, NOT_LISTENING
from sfa.web.token_cache import TokenCache
from tests.pages import log_in, submit

NEWS_WITHIN_S = 3.0


@pytest.fixture
def config(config: Config) -> Config:
    return config.replace(token_cache_s=300)


async def eventually(client: TestClient, path: str, headers: dict[str, str], status: int) -> None:
    """``path`` answers ``status`` within NEWS_WITHIN_S (far under the 300 s the entry would live)."""
    deadline = asyncio.get_running_loop().time() + NEWS_WITHIN_S
    while (answered := (await client.get(path, headers=headers)).status) != status:
        assert asyncio.get_running_loop().time() < deadline, f"still {answered}, expected {status}"
        await asyncio.sleep(0.05)


async def test_a_token_revoked_on_one_node_is_refused_on_the_other(browser, other_node, make_account):
    account = await make_account()
    await log_in(browser, account)
    await submit(browser, "/users/settings/api-keys", {"name": "laptop"})
    page = await (await browser.get("/users/settings")).text()
    secret = re.search(r'<code id="new-api-key">([^<]+)</code>', page)[1]
    bearer = {"Authorization": f"Bearer {secret}"}
    assert (await other_node.get("/api/tracks", headers=bearer)).status == 200
    assert (await other_node.get("/api/tracks", headers=bearer)).status == 200

    key_id = re.search(r'action="/users/settings/api-keys/(\d+)"', page)[1]
    assert (await submit(browser, f"/users/settings/api-keys/{key_id}", {"_method": "delete"})).status == 302

    await eventually(other_node, "/api/tracks", bearer, 401)
    assert (await browser.get("/api/tracks", headers=bearer)).status == 401


async def test_suspension_and_role_changes_reach_the_other_nodes_memory(client, other_node, make_account):
    admin, user = await make_account("admin"), await make_account()
    assert (await other_node.get("/api/admin/users", headers=user.headers)).status == 403

    promoted = await client.patch(f"/api/admin/users/{user.user.id}", json={"role": "admin"}, headers=admin.headers)
    assert promoted.status == 200
    await eventually(other_node, "/api/admin/users", user.headers, 200)

    suspended = await client.patch(f"/api/admin/users/{user.user.id}", json={"status": "suspended"},
                                   headers=admin.headers)
    assert suspended.status == 200
    await eventually(other_node, "/api/tracks", user.headers, 403)


def user(user_id: int) -> User:
    return User(id=user_id, email=f"u{user_id}@example.com", role="user", status="active", inserted_at=None)


def test_entries_expire_and_a_lookup_older_than_the_news_is_not_remembered():
    now = [0.0]
    cache = TokenCache(10, clock=lambda: now[0])
    cache.hear(True)
    cache.put(b"a", user(1), cache.generation())
    assert cache.get(b"a") == user(1)
    now[0] = 10.0
    assert cache.get(b"a") is None

    before_lookup = cache.generation()
    cache.forget_user(2)
    cache.put(b"b", user(2), before_lookup)
    assert cache.get(b"b") is None

    cache.put(b"c", user(3), cache.generation())
    cache.forget_user(3)
    assert cache.get(b"c") is None
    assert TokenCache(0).get(b"c") is None


def test_nothing_is_served_or_remembered_while_news_may_be_missed():
    cache = TokenCache(10)
    cache.put(b"a", user(1), cache.generation())
    assert cache.get(b"a") is None
    cache.on_broadcast(Broadcast(NEWS_TOPIC, LISTENING, {}))
    cache.put(b"a", user(1), cache.generation())
    assert cache.get(b"a") == user(1)
    before_gap = cache.generation()
    cache.on_broadcast(Broadcast(NEWS_TOPIC, NOT_LISTENING, {}))
    assert cache.get(b"a") is None
    cache.on_broadcast(Broadcast(NEWS_TOPIC, LISTENING, {}))
    assert cache.get(b"a") is None
    cache.put(b"b", user(2), before_gap)
    assert cache.get(b"b") is None


def test_zero_seconds_remembers_nothing():
    cache = TokenCache(0)
    cache.hear(True)
    cache.put(b"a", user(1), cache.generation())
    assert cache.get(b"a") is None
