"""Rate limits per pipeline, as the contract sets them: fixed windows counted once for the whole cluster.

``api_auth`` covers every API route per user (per IP when anonymous), ``api_heavy`` adds a tighter limit
on the four routes that start expensive work, ``browser`` covers pages per IP. Every node counts in the
same PostgreSQL rows (``rate_limit_windows``), so two nodes behind a load balancer give a user the limit
once, not twice. *Why not count in each process and sync now and then:* the limit would then hold only
approximately (a burst split over the nodes passes between syncs); *why not Redis:* one more service to
run for what one row in the database we already hold does.

Counting is one UPSERT for every hit that arrives while the previous one is on its way (group commit, as a
database does with its log): alone, a request waits one round trip; under load, hundreds share one
statement, so the count costs no more connections as requests grow. The row lock orders concurrent
UPSERTs from all nodes, and a batch's hits on one key get consecutive counts, so exactly the limit passes.

Far from its limit a key is counted ahead: where the window's last count here left room for
:data:`LEASE_ROOM` more hits, the statement also takes a lease of places (a 64th of that room, at most
:data:`MAX_LEASE`) that this node then hands out without a round trip, as Google's Doorman leases capacity.
Leased places are counted in the row like any hit, so more than the limit never passes; a lease a node
leaves unused when its window ends may refuse others up to a 64th of the limit early. A limit below
:data:`LEASE_ROOM` (the contract's are 10 to 120 a minute) never leases: every hit is counted in its statement.
Every limited response carries the three ``X-RateLimit-*`` headers of its tightest pipeline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass

import asyncpg
from aiohttp import web

from sfa.config import Config, RateLimit
from sfa.db.database import Database
from sfa.web.auth import identify
from sfa.web.envelope import is_api
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
LEASE_ROOM = 4096
LEASE_SHARE = 64
MAX_LEASE = 1024

# A batch of keys, each with its number of hits, in one statement (unnest). Hits for a window later than
# the row's start it over; hits for an earlier one (a node whose clock lags) count in the row's window, so
# nodes never reset each other's counts back and forth. pypika has neither unnest nor DO UPDATE with CASE.
HIT = """
INSERT INTO rate_limit_windows AS w (key, reset_at, hits)
SELECT key, reset_at, hits FROM unnest($1::text[], $2::bigint[], $3::integer[]) AS hit (key, reset_at, hits)
ON CONFLICT (key) DO UPDATE
    SET hits = CASE WHEN EXCLUDED.reset_at > w.reset_at THEN EXCLUDED.hits ELSE w.hits + EXCLUDED.hits END,
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

    def decide(self, count: Count) -> Decision:
        return Decision(count.hits <= self.rate.limit, self.rate.limit, max(0, self.rate.limit - count.hits),
                        count.reset_at)


@dataclass(frozen=True, slots=True)
class Count:
    """A hit's place in its window: the hits counted up to and including it, and the window's end."""

    hits: int
    reset_at: int


@dataclass(slots=True)
class Lease:
    """Places ``next``..``last`` of a key's window ending ``reset_at``, counted already, this node's to hand out."""

    reset_at: int
    next: int
    last: int


class WindowCounter:
    """Counts hits in ``rate_limit_windows``, every hit waiting when a statement leaves in that statement."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._waiting: list[tuple[str, int, int, asyncio.Future[Count]]] = []
        self._sending: asyncio.Task | None = None
        self._leases: dict[str, Lease] = {}

    def leased(self, key: str, reset_at: int) -> Count | None:
        """The next leased place of ``key`` in the window ending ``reset_at``, if this node holds one."""
        lease = self._leases.get(key)
        if lease is None or lease.reset_at != reset_at or lease.next > lease.last:
            return None
        lease.next += 1
        return Count(lease.next - 1, reset_at)

    def hit(self, key: str, reset_at: int, limit: int) -> asyncio.Future[Count]:
        counted: asyncio.Future[Count] = asyncio.get_running_loop().create_future()
        self._waiting.append((key, reset_at, limit, counted))
        if self._sending is None or self._sending.done():
            self._sending = asyncio.create_task(self._send(), name="rate limit counts")
        return counted

    def forget_leases(self, before: float) -> None:
        self._leases = {key: lease for key, lease in self._leases.items() if lease.reset_at > before}

    async def _send(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            by_key: dict[str, list[tuple[int, asyncio.Future[Count]]]] = {}
            limits: dict[str, int] = {}
            for key, reset_at, limit, counted in batch:
                by_key.setdefault(key, []).append((reset_at, counted))
                limits[key] = limit
            reset_ats = [max(r for r, _ in hits) for hits in by_key.values()]
            extras = [self._lease_size(key, reset_at, len(hits), limits[key])
                      for (key, hits), reset_at in zip(by_key.items(), reset_ats, strict=True)]
            try:
                rows = await self.database.pool.fetch(
                    HIT, list(by_key), reset_ats, [len(hits) + extra for hits, extra in
                                                   zip(by_key.values(), extras, strict=True)])
            except Exception as exc:  # every waiting request gets the failure; the next batch tries again
                for _, _, _, counted in batch:
                    if not counted.done():
                        counted.set_exception(exc)
                continue
            extra_of = dict(zip(by_key, extras, strict=True))
            for row in rows:
                key, total, extra = row["key"], row["hits"], extra_of[row["key"]]
                hits = by_key[key]
                for place, (_, counted) in enumerate(hits, start=total - extra - len(hits) + 1):
                    if not counted.done():
                        counted.set_result(Count(place, row["reset_at"]))
                if limits[key] - total >= LEASE_ROOM or extra:
                    self._leases[key] = Lease(row["reset_at"], total - extra + 1, total)
                else:
                    self._leases.pop(key, None)

    def _lease_size(self, key: str, reset_at: int, hits: int, limit: int) -> int:
        """Places to count ahead: none unless this window's last count here left room for many more."""
        lease = self._leases.get(key)
        if lease is None or lease.reset_at != reset_at or limit - lease.last - hits < LEASE_ROOM:
            return 0
        return min(MAX_LEASE, (limit - lease.last - hits) // LEASE_SHARE)


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
        self.counter = WindowCounter(database)
        self.clock = clock

    async def hit(self, counted: Sequence[tuple[Pipeline, str]]) -> Decision:
        """Count one hit of ``subject`` in each pipeline; the first refusal, else the tightest decision."""
        now = self.clock()
        if len(counted) == 1:  # every request but the heavy ones: no gather, and a leased place without a wait
            pipeline, subject = counted[0]
            key, reset_at = pipeline.key(subject), pipeline.reset_at(now)
            count = self.counter.leased(key, reset_at)
            if count is None:
                count = await self.counter.hit(key, reset_at, pipeline.rate.limit)
            return pipeline.decide(count)
        counts = await asyncio.gather(*(self._count(pipeline, subject, now) for pipeline, subject in counted))
        decisions = [pipeline.decide(count) for (pipeline, _), count in zip(counted, counts, strict=True)]
        denied = [d for d in decisions if not d.allowed]
        return denied[0] if denied else min(decisions, key=lambda d: d.remaining)

    async def decide(self, request: web.Request) -> Decision | None:
        """The decision on ``request``, remembered on it for its response's headers; None when not limited."""
        if request.path.startswith(UNLIMITED):
            return None
        request[DECISION] = decision = await self._decide(request)
        return decision

    async def _count(self, pipeline: Pipeline, subject: str, now: float) -> Count:
        key, reset_at = pipeline.key(subject), pipeline.reset_at(now)
        leased = self.counter.leased(key, reset_at)
        return leased if leased is not None else await self.counter.hit(key, reset_at, pipeline.rate.limit)

    async def _decide(self, request: web.Request) -> Decision:
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
        now = self.clock()
        self.counter.forget_leases(now)
        status = await self.database.pool.execute(SWEEP, int(now))
        return int(status.split()[-1])

    async def sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_S)
            try:
                await self.sweep()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("rate limits: sweeping ended windows failed (%s)", exc)


LIMITER = web.AppKey("rate_limiter", RateLimiter)
DECISION = web.RequestKey("rate_limit_decision", Decision)


def add_rate_limit_headers(request: web.Request, response: web.StreamResponse) -> None:
    """The decision's headers on ``response``, when the request was counted (from ``on_response_prepare``)."""
    decision = request.get(DECISION)
    if decision is not None:
        response.headers.update(decision.headers)


async def sweeping(app: web.Application) -> AsyncIterator[None]:
    """Sweep ended windows while the app runs."""
    sweeper = asyncio.create_task(app[LIMITER].sweep_forever(), name="rate limit sweeper")
    yield
    sweeper.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await sweeper


def setup_rate_limits(app: web.Application) -> None:
    app[LIMITER] = RateLimiter(app[CONFIG], app[DATABASE])
    app.cleanup_ctx.append(sweeping)
