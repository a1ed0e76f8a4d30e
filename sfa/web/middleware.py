"""The one middleware of ours every request passes, and the headers every response gets.

In order: the browser session's storage, the request id (on every log line written while the request runs),
the rate limit (a refusal is a
429 in the envelope), the handler, and the contract's envelope around whatever either raised
(:func:`sfa.web.envelope.failure_response`). After a request that may have written, its user's remembered
track listings are dropped before the answer leaves (:mod:`sfa.web.listing_cache`). One layer, not three:
each layer costs a call and a coroutine per request, and for an unknown route aiohttp wraps the chain anew
each time. A session a handler changed is saved on whatever answers, the envelope's error included.
"""

from __future__ import annotations

import time

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from aiohttp_session import SESSION_KEY, STORAGE_KEY, AbstractStorage

from sfa.log import request_id_var
from sfa.web.auth import USER
from sfa.web.csrf import SAFE_METHODS
from sfa.web.envelope import error_response, failure_response
from sfa.web.keys import LISTING_CACHE
from sfa.web.rate_limit import LIMITER, RateLimited, add_rate_limit_headers
from sfa.web.request_id import HEADER, request_id


def request_middleware(sessions: AbstractStorage) -> Middleware:
    """The middleware, keeping browser sessions in ``sessions`` as ``aiohttp_session``'s own middleware does
    (folded in: one layer a request rather than two)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        request[STORAGE_KEY] = sessions
        request_id_var.set(request_id(request))
        try:
            decision = await request.app[LIMITER].decide(request)
            if decision is not None and not decision.allowed:
                response = error_response(RateLimited(decision, time.time()))
            else:
                response = await handler(request)
        except Exception as exc:
            answer = failure_response(request, exc)
            if answer is None:
                if isinstance(exc, web.HTTPException):  # a redirect after logging in carries its cookie
                    await save_session(request, sessions, exc)
                raise
            response = answer
        finally:
            if request.method not in SAFE_METHODS and (user := request.get(USER)) is not None:
                request.app[LISTING_CACHE].forget_user(user.id)
        if isinstance(response, web.Response):  # not a WebSocket or a stream: those went out already
            await save_session(request, sessions, response)
        return response

    return middleware


async def save_session(request: web.Request, sessions: AbstractStorage, response: web.Response) -> None:
    """The session's cookie on ``response`` when a handler changed the session (``aiohttp_session``'s test)."""
    session = request.get(SESSION_KEY)
    if session is not None and session._changed:
        await sessions.save_session(request, response, session)


async def add_response_headers(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare``: reaches every response, including a handler's own streamed one and those made
    from raised HTTP errors: the request id, and the rate limit's headers when the request was counted."""
    response.headers[HEADER] = request_id(request)
    add_rate_limit_headers(request, response)
