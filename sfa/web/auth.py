"""Who is asking: an API token in ``Authorization: Bearer``, a browser session cookie, or a socket token.

The identity is resolved once per request and cached on it. Presenting a bad credential is a 401 even on
a route that would also accept a session, because a client that sends a token means to use it. A browser
sends its cookie with requests that other sites make it send, so an ``/api`` write authenticated by the cookie
must also carry the session's CSRF token in ``X-CSRF-Token`` (a token in a header is a script's own choice).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web
from aiohttp_session import get_session

from sfa.accounts.roles import at_least
from sfa.accounts.secrets import digest
from sfa.accounts.sessions import user_for_session
from sfa.accounts.socket_tokens import socket_token_user_id
from sfa.accounts.tokens import looks_like_token, user_for_token
from sfa.accounts.users import User, get_user
from sfa.web.csrf import SAFE_METHODS, check_csrf_header
from sfa.web.envelope import is_api
from sfa.web.errors import APIError
from sfa.web.keys import DATABASE, SOCKET_TOKEN_KEY, TOKEN_CACHE

USER = web.RequestKey("user", object)
CREDENTIAL_PROBLEM = web.RequestKey("credential_problem", str)
SESSION_TOKEN = "session_token"
SESSION_COOKIE = "_sfa_session"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Unauthorized(APIError):
    status = 401


class Forbidden(APIError):
    status = 403


async def identify(request: web.Request) -> User | None:
    """The user behind the request's credentials, or None; a bad token is remembered as the reason."""
    if USER in request:
        return request[USER]
    database = request.app[DATABASE]
    header = request.headers.get("Authorization")
    user = None
    if header is not None:
        scheme, _, secret = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            request[CREDENTIAL_PROBLEM] = "malformed Authorization header: expected 'Bearer <token>'"
        else:
            user = await token_user(request, secret.strip())
            if user is None:
                request[CREDENTIAL_PROBLEM] = "invalid or revoked API token"
    else:
        session = await get_session(request)
        secret = session.get(SESSION_TOKEN)
        if isinstance(secret, str):
            user = await user_for_session(database, secret)
        if user is not None and request.method not in SAFE_METHODS and is_api(request):
            check_csrf_header(request, session)
    request[USER] = user
    return user


async def token_user(request: web.Request, secret: str) -> User | None:
    """The owner of a live API token (:func:`user_for_token`), remembered a few seconds (:mod:`token_cache`)."""
    cache = request.app[TOKEN_CACHE]
    key = digest(secret)
    user = cache.get(key)
    if user is None:
        generation = cache.generation()
        user = await user_for_token(request.app[DATABASE], secret)
        if user is not None:
            cache.put(key, user, generation)
    return user


async def current_user(request: web.Request) -> User:
    """The authenticated, active user; 401 without valid credentials, 403 when the account is suspended."""
    user = await identify(request)
    if user is None:
        raise Unauthorized(request.get(CREDENTIAL_PROBLEM, "authentication required"))
    if not user.active:
        raise Forbidden("account suspended")
    return user


def require_role(minimum: str) -> Callable[[Handler], Handler]:
    """Decorate a handler so only users of role ``minimum`` or higher reach it (403 otherwise)."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def guarded(request: web.Request) -> web.StreamResponse:
            user = await current_user(request)
            if not at_least(user.role, minimum):
                raise Forbidden(f"requires the {minimum} role or higher")
            return await handler(request)

        return guarded

    return decorate


async def authenticate_socket(request: web.Request, params: Mapping[str, str]) -> User | None:
    """The active user a socket connects as: ``token`` (API token or signed socket token), else the cookie."""
    token = params.get("token")
    database = request.app[DATABASE]
    if not token:
        user = await identify(request)
    elif looks_like_token(token):
        user = await token_user(request, token)
    else:
        user_id = socket_token_user_id(request.app[SOCKET_TOKEN_KEY], token)
        user = None if user_id is None else await get_user(database, user_id)
    return user if user is not None and user.active else None
