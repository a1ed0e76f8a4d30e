"""Rate limits per pipeline, as the contract sets them: fixed windows counted in this process.

``api_auth`` covers every API route per user (per IP when anonymous), ``api_heavy`` adds a tighter limit
on the four routes that start expensive work, ``browser`` covers pages per IP. Counting happens without
an ``await`` between the check and the increment, so concurrent requests cannot slip past the limit.
Every limited response carries the three ``X-RateLimit-*`` headers of its tightest pipeline.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Handler

from sfa.config import Config, RateLimit
from sfa.web.auth import identify
from sfa.web.envelope import error_response, is_api
from sfa.web.errors import APIError
from sfa.web.keys import CONFIG

HEAVY_ROUTES = frozenset({
    ("POST", "/api/spotify/import"),
    ("POST", "/api/analysis/analyze"),
    ("POST", "/api/download/track"),
    ("POST", "/api/processing/separate"),
})
BROWSER_PREFIXES = ("/users/", "/auth/")
UNLIMITED = ("/health", "/socket/", "/live/", "/static/")


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


class FixedWindow:
    """Counts hits per key in windows of ``period_s`` seconds aligned to the epoch."""

    def __init__(self, rate: RateLimit, clock: Callable[[], float] = time.time) -> None:
        self.rate = rate
        self.clock = clock
        self.counts: dict[str, tuple[int, int]] = {}

    def hit(self, key: str) -> Decision:
        window = int(self.clock() // self.rate.period_s)
        seen_window, count = self.counts.get(key, (window, 0))
        if seen_window != window:
            count = 0
            if len(self.counts) > 10_000:
                self.counts = {k: v for k, v in self.counts.items() if v[0] == window}
        allowed = count < self.rate.limit
        if allowed:
            count += 1
        self.counts[key] = (window, count)
        return Decision(allowed, self.rate.limit, self.rate.limit - count, (window + 1) * self.rate.period_s)


class RateLimited(APIError):
    status = 429

    def __init__(self, decision: Decision, now: float) -> None:
        self.retry_after = max(1, math.ceil(decision.reset_at - now))
        super().__init__("rate limit exceeded", headers={**decision.headers, "Retry-After": str(self.retry_after)})

    def body(self) -> dict:
        return {**super().body(), "retry_after": self.retry_after}


class RateLimiter:
    def __init__(self, config: Config) -> None:
        self.api = FixedWindow(config.rate_api)
        self.heavy = FixedWindow(config.rate_heavy)
        self.browser = FixedWindow(config.rate_browser)

    async def decide(self, request: web.Request) -> Decision | None:
        if request.path.startswith(UNLIMITED):
            return None
        if not is_api(request):
            return self.browser.hit(request.remote or "-")
        user = await identify(request)
        key = f"user:{user.id}" if user is not None else f"ip:{request.remote}"
        decisions = [self.api.hit(key)]
        if (request.method, request.path.rstrip("/")) in HEAVY_ROUTES:
            decisions.append(self.heavy.hit(key))
        denied = [d for d in decisions if not d.allowed]
        return denied[0] if denied else min(decisions, key=lambda d: d.remaining)


LIMITER = web.AppKey("rate_limiter", RateLimiter)
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


def setup_rate_limits(app: web.Application) -> None:
    app[LIMITER] = RateLimiter(app[CONFIG])
    app.on_response_prepare.append(add_rate_limit_headers)
