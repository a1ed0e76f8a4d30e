"""The contract's three pipelines: limits, headers on every response, 429 with Retry-After."""

import asyncio
import time

import pytest
from aiohttp.test_utils import TestClient

from sfa.config import RateLimit
from sfa.web import make_app
from sfa.web.rate_limit import RateLimiter
from tests.serving import AppServer

RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


async def test_exactly_the_limit_passes_under_100_concurrent_requests(client, make_account):
    admin = await make_account("admin")

    responses = await asyncio.gather(*(client.get("/api/admin/users", headers=admin.headers) for _ in range(100)))

    statuses = sorted(r.status for r in responses)
    assert statuses.count(200) == 60
    assert statuses.count(429) == 40


async def test_a_limited_response_has_the_contract_body_and_retry_after(client, make_account):
    user = await make_account()
    for _ in range(60):
        await client.get("/api/admin/users", headers=user.headers)

    response = await client.get("/api/admin/users", headers=user.headers)
    body = await response.json()

    assert response.status == 429
    assert body == {"error": "rate limit exceeded", "code": "RATE_LIMITED", "retry_after": body["retry_after"]}
    assert 1 <= body["retry_after"] <= 60
    assert response.headers["Retry-After"] == str(body["retry_after"])
    assert response.headers["X-RateLimit-Remaining"] == "0"


@pytest.mark.parametrize(("method", "path", "limit"), [
    ("GET", "/api/admin/users", "60"),
    ("GET", "/api/no/such/route", "60"),
    ("POST", "/api/analysis/analyze", "10"),
    ("GET", "/users/log_in", "120"),
    ("GET", "/", "120"),
])
async def test_every_limited_response_carries_the_three_headers(client, make_account, method, path, limit):
    user = await make_account()

    response = await client.request(method, path, headers=user.headers)

    assert response.headers["X-RateLimit-Limit"] == limit
    assert int(response.headers["X-RateLimit-Reset"]) > time.time()
    assert int(response.headers["X-RateLimit-Remaining"]) == int(limit) - 1


async def test_limits_are_per_user_and_anonymous_requests_count_per_ip(client, make_account):
    first, second = await make_account(), await make_account()
    for _ in range(60):
        await client.get("/api/admin/users", headers=first.headers)

    assert (await client.get("/api/admin/users", headers=first.headers)).status == 429
    assert (await client.get("/api/admin/users", headers=second.headers)).status == 403
    assert (await client.get("/api/admin/users")).status == 401


async def test_heavy_routes_have_the_tighter_limit(client, make_account):
    pro = await make_account("pro")

    statuses = [(await client.post("/api/analysis/analyze", json={}, headers=pro.headers)).status
                for _ in range(12)]

    assert 429 not in statuses[:10]
    assert statuses[10:] == [429, 429]
    assert (await client.get("/api/admin/users", headers=pro.headers)).headers["X-RateLimit-Remaining"] == "47"


async def test_browser_pages_are_limited_per_ip(config, database):
    app = make_app(config.replace(rate_browser=RateLimit(3, 60)), database)
    async with TestClient(AppServer(app)) as client:
        statuses = [(await client.get("/users/log_in")).status for _ in range(4)]

    assert statuses == [200, 200, 200, 429]


async def test_health_and_sockets_are_not_limited(client):
    response = await client.get("/health")

    assert not set(RATE_HEADERS) & set(response.headers)


async def test_a_window_resets_when_its_period_ends(config, database):
    now = [1000.0]
    limiter = RateLimiter(config.replace(rate_browser=RateLimit(2, 10)), database, clock=lambda: now[0])
    counted = [(limiter.browser, "window-test")]

    assert [(await limiter.hit(counted)).allowed for _ in range(3)] == [True, True, False]
    now[0] = 1010.0
    decision = await limiter.hit(counted)
    assert decision.allowed and decision.remaining == 1 and decision.reset_at == 1020


async def test_a_node_whose_clock_lags_counts_in_the_current_window(config, database):
    now = [1015.0]
    limiter = RateLimiter(config.replace(rate_browser=RateLimit(2, 10)), database, clock=lambda: now[0])
    counted = [(limiter.browser, "skew-test")]
    await limiter.hit(counted)
    now[0] = 1005.0

    decision = await limiter.hit(counted)

    assert (decision.remaining, decision.reset_at) == (0, 1020)
    assert not (await limiter.hit(counted)).allowed


async def test_ended_windows_are_swept(config, database):
    now = [1000.0]
    limiter = RateLimiter(config, database, clock=lambda: now[0])
    await limiter.hit([(limiter.browser, "sweep-test")])
    now[0] = 1200.0

    assert await limiter.sweep() >= 1
    assert await database.pool.fetchval("SELECT count(*) FROM rate_limit_windows WHERE key LIKE '%sweep-test'") == 0
