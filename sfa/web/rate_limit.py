"""Rate limits per pipeline, as the contract sets them: fixed windows counted once for the whole cluster.

``api_auth`` covers every API route per user (per IP when anonymous), ``api_heavy`` adds a tighter limit
on the four routes that start expensive work, ``browser`` covers pages per IP. Every node counts in the
same PostgreSQL rows (``rate_limit_windows``), so two nodes behind a load balancer give a user the limit
once, not twice. A request's hits are one UPSERT, one round trip on a pooled connection, whatever the
number of pipelines it counts in: the row lock makes concurrent hits on one key count one after another,
so exactly the limit passes. *Why not count in each process and sync now and then:* the limit would then
hold only approximately (a burst split over the nodes passes between syncs); *why not Redis:* it would be
one more service to run for what one indexed row in the database we already hold does.

Every limited response carries the three ``X-RateLimit-*`` headers of its tightest pipeline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import asyncpg
from aiohttp import web
from aiohttp.typedefs import Handler

from sfa.config import Config, RateLimit
from sfa.db.database import Database
from sfa.web.auth import identify
from sfa.web.envelope import error_response, is_api
from sfa.web.errors import APIError
from sfa.web.keys import CONFIG, DATABASE

log = logging.getLogger(__name__)

HEAVY_ROUTES = frozenset({
    ("POST", "/api/spotify/import"),
    ("POST", "/api/analysis/analyze"),
    ("POST", "/api/download/track"),
    ("POST", "/api/processing/separate"),
})
BROWSER_PREFIXES = ("/users/", "/auth/")
UNLIMITED = ("/health", "/socket/", "/live/", "/static/")
SWEEP_S = 60.0

# Several keys in one statement (unnest). A hit for a window later than the row's starts it over at 1; a
# hit for an earlier one (a node whose clock lags) counts in the row's window, so nodes never reset each
# other's counts back and forth. pypika has neither unnest nor ON CONFLICT ... DO UPDATE with CASE.
HIT = """
INSERT INTO rate_limit_windows AS w (key, reset_at, hits)
SELECT key, reset_at, 1 FROM unnest($1::text[], $2::bigint[]) AS hit (key, reset_at)
ON CONFLICT (key) DO UPDATE
    SET hits = CASE WHEN EXCLUDED.reset_at > w.reset_at THEN 1 ELSE w.hits + 1 END,
        reset_at = GREATEST(w.reset_at, EXCLUDED.reset_at)
RETURNING key, reset_at, hits
"""
SWEEP = "DELETE FROM rate_limit_windows WHERE reset_at < $1"


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_at: int

    @property
    def headers(self) -> dict[str, str]:
        return {"X-RateLimit-Limit": str(self.limit), "X-RateLimit-Remaining": str(self.remaining),
                "X-RateLimit-Reset": str(self.reset_at)}


@dataclass(frozen=True, slots=True)
class Pipeline:
    """One of the contract's pipelines: its name prefixes the keys it counts, in windows of its rate."""

    name: str
    rate: RateLimit

    def key(self, subject: str) -> str:
        return f"{self.name}:{subject}"

    def reset_at(self, now: float) -> int:
        return (int(now // self.rate.period_s) + 1) * self.rate.period_s

    def decide(self, hits: int, reset_at: int) -> Decision:
        return Decision(hits <= self.rate.limit, self.rate.limit, max(0, self.rate.limit - hits), reset_at)


class RateLimited(APIError):
    status = 429

    def __init__(self, decision: Decision, now: float) -> None:
        self.retry_after = max(1, math.ceil(decision.reset_at - now))
        super().__init__("rate limit exceeded", headers={**decision.headers, "Retry-After": str(self.retry_after)})

    def body(self) -> dict:
        return {**super().body(), "retry_after": self.retry_after}


class RateLimiter:
    def __init__(self, config: Config, database: Database, clock: Callable[[], float] = time.time) -> None:
        self.api = Pipeline("api_auth", config.rate_api)
        self.heavy = Pipeline("api_heavy", config.rate_heavy)
        self.browser = Pipeline("browser", config.rate_browser)
        self.database = database
        self.clock = clock

    async def hit(self, counted: Sequence[tuple[Pipeline, str]]) -> Decision:
        """Count one hit of ``subject`` in each pipeline; the first refusal, else the tightest decision."""
        now = self.clock()
        keys = {pipeline.key(subject): pipeline for pipeline, subject in counted}
        rows = await self.database.pool.fetch(HIT, list(keys), [p.reset_at(now) for p in keys.values()])
        decisions = [keys[row["key"]].decide(row["hits"], row["reset_at"]) for row in rows]
        denied = [d for d in decisions if not d.allowed]
        return denied[0] if denied else min(decisions, key=lambda d: d.remaining)

    async def decide(self, request: web.Request) -> Decision | None:
        if request.path.startswith(UNLIMITED):
            return None
        if not is_api(request):
            return await self.hit([(self.browser, request.remote or "-")])
        user = await identify(request)
        subject = f"user:{user.id}" if user is not None else f"ip:{request.remote}"
        counted = [(self.api, subject)]
        if (request.method, request.path.rstrip("/")) in HEAVY_ROUTES:
            counted.append((self.heavy, subject))
        return await self.hit(counted)

    async def sweep(self) -> int:
        """Drop the rows of windows that have ended; how many went."""
        status = await self.database.pool.execute(SWEEP, int(self.clock()))
        return int(status.split()[-1])

    async def sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_S)
            try:
                await self.sweep()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("rate limits: sweeping ended windows failed (%s)", exc)


LIMITER = web.AppKey("rate_limiter", RateLimiter)
SWEEPER = web.AppKey("rate_limit_sweeper", asyncio.Task)
DECISION = web.RequestKey("rate_limit_decision", Decision)


@web.middleware
async def rate_limit_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    decision = await request.app[LIMITER].decide(request)
    if decision is None:
        return await handler(request)
    request[DECISION] = decision
    if not decision.allowed:
        return error_response(RateLimited(decision, time.time()))
    return await handler(request)


async def add_rate_limit_headers(request: web.Request, response: web.StreamResponse) -> None:
    if DECISION in request:
        response.headers.update(request[DECISION].headers)


async def start_sweeper(app: web.Application) -> None:
    app[SWEEPER] = asyncio.create_task(app[LIMITER].sweep_forever(), name="rate limit sweeper")


async def stop_sweeper(app: web.Application) -> None:
    if SWEEPER in app:
        app[SWEEPER].cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await app[SWEEPER]


def setup_rate_limits(app: web.Application) -> None:
    app[LIMITER] = RateLimiter(app[CONFIG], app[DATABASE])
    app.on_startup.append(start_sweeper)
    app.on_cleanup.append(stop_sweeper)
    app.on_response_prepare.append(add_rate_limit_headers)
