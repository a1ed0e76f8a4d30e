"""The one middleware of ours every request passes, and the headers every response gets.

In order: the request id (on every log line written while the request runs), the rate limit (a refusal is a
429 in the envelope), the handler, and the contract's envelope around whatever either raised
(:func:`sfa.web.envelope.failure_response`). After a request that may have written, its user's remembered
track listings are dropped before the answer leaves (:mod:`sfa.web.listing_cache`). One layer, not three:
each layer costs a call and a coroutine per request, and for an unknown route aiohttp wraps the chain anew
each time. The session middleware stays outside it, so a session changed by a handler whose error the
envelope answers is still saved.
"""

from __future__ import annotations

import time

from aiohttp import web
from aiohttp.typedefs import Handler

from sfa.log import request_id_var
from sfa.web.auth import USER
from sfa.web.csrf import SAFE_METHODS
from sfa.web.envelope import error_response, failure_response
from sfa.web.keys import LISTING_CACHE
from sfa.web.rate_limit import LIMITER, RateLimited, add_rate_limit_headers
from sfa.web.request_id import HEADER, request_id


@web.middleware
async def request_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    request_id_var.set(request_id(request))
    try:
        decision = await request.app[LIMITER].decide(request)
        if decision is not None and not decision.allowed:
            return error_response(RateLimited(decision, time.time()))
        return await handler(request)
    except Exception as exc:
        response = failure_response(request, exc)
        if response is None:
            raise
        return response
    finally:
        if request.method not in SAFE_METHODS and (user := request.get(USER)) is not None:
            request.app[LISTING_CACHE].forget_user(user.id)


async def add_response_headers(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare``: reaches every response, including a handler's own streamed one and those made
    from raised HTTP errors: the request id, and the rate limit's headers when the request was counted."""
    response.headers[HEADER] = request_id(request)
    add_rate_limit_headers(request, response)
