"""The contract's three pipelines: limits, headers on every response, 429 with Retry-After."""

import asyncio
import time

import pytest
from aiohttp.test_utils import TestClient

from sfa.config import RateLimit
from sfa.web import make_app
from sfa.web.rate_limit import LEASE_ROOM, RateLimiter
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


@pytest.fixture
async def counted_statements(database):
    """How many statements write ``rate_limit_windows``, as PostgreSQL counts them (a statement trigger)."""
    async with database.pool.acquire() as conn:
        await conn.execute("""
            CREATE TABLE rate_limit_statements (n bigint NOT NULL);
            INSERT INTO rate_limit_statements VALUES (0);
            CREATE FUNCTION count_rate_limit_statement() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN UPDATE rate_limit_statements SET n = n + 1; RETURN NULL; END $$;
            CREATE TRIGGER count_rate_limit_statements AFTER INSERT ON rate_limit_windows
                FOR EACH STATEMENT EXECUTE FUNCTION count_rate_limit_statement();
        """)
    yield lambda: database.pool.fetchval("SELECT n FROM rate_limit_statements")
    async with database.pool.acquire() as conn:
        await conn.execute("""
            DROP TRIGGER count_rate_limit_statements ON rate_limit_windows;
            DROP FUNCTION count_rate_limit_statement();
            DROP TABLE rate_limit_statements;
        """)


async def hit_by_clients(limiter: RateLimiter, subject: str, clients: int, hits: int) -> int:
    """``clients`` clients each hitting ``hits`` times, one hit after another: how many were allowed."""
    async def client() -> int:
        return sum([(await limiter.hit([(limiter.api, subject)])).allowed for _ in range(hits)])

    return sum(await asyncio.gather(*(client() for _ in range(clients))))


async def test_far_from_its_limit_a_key_is_counted_ahead(config, database, counted_statements):
    """32 clients on two nodes hit a limit of 100,000 one hit after another: leases count most hits without a
    statement. The same clients on a limit under LEASE_ROOM: every hit in a statement, exactly the limit."""
    now = [1000.0]
    nodes = [RateLimiter(config.replace(rate_api=RateLimit(100_000, 60)), database, clock=lambda: now[0])
             for _ in range(2)]
    allowed = sum(await asyncio.gather(*(hit_by_clients(node, "user:lease-test", 16, 400) for node in nodes)))
    leased = await counted_statements()
    exact_nodes = [RateLimiter(config.replace(rate_api=RateLimit(LEASE_ROOM - 1, 60)), database,
                               clock=lambda: now[0]) for _ in range(2)]
    exact_allowed = sum(await asyncio.gather(*(hit_by_clients(node, "user:exact-test", 16, 150)
                                               for node in exact_nodes)))
    exact = await counted_statements() - leased

    assert allowed == 12_800
    assert exact_allowed == LEASE_ROOM - 1
    assert await database.pool.fetchval(
        "SELECT hits FROM rate_limit_windows WHERE key = 'api_auth:user:exact-test'") == 4800
    assert leased / 12_800 < exact / 4800 / 10, (leased, exact)


async def test_leases_never_pass_the_limit(config, database):
    """Two nodes' clients hit a limit of 20,000 22,400 times: never more than the limit passes, and leases
    left unused refuse at most a 64th of the limit per node early."""
    now = [1000.0]
    nodes = [RateLimiter(config.replace(rate_api=RateLimit(20_000, 60)), database, clock=lambda: now[0])
             for _ in range(2)]
    allowed = sum(await asyncio.gather(*(hit_by_clients(node, "user:limit-test", 16, 700) for node in nodes)))

    assert 20_000 - 2 * 20_000 // 64 <= allowed <= 20_000
    assert await database.pool.fetchval(
        "SELECT hits FROM rate_limit_windows WHERE key = 'api_auth:user:limit-test'") >= 22_400
