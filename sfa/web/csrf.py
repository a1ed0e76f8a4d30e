"""CSRF protection for browser forms: a per-session token every unsafe browser request must echo."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping

from aiohttp import web
from aiohttp_session import Session, get_session

from sfa.web.errors import APIError

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FIELD = "_csrf_token"
HEADER = "X-CSRF-Token"
SESSION_KEY = "csrf_token"


def csrf_token(session: Session) -> str:
    if not isinstance(session.get(SESSION_KEY), str):
        session[SESSION_KEY] = secrets.token_urlsafe(32)
    return session[SESSION_KEY]


def matches(session: Session, offered: str) -> bool:
    expected = session.get(SESSION_KEY)
    return isinstance(expected, str) and hmac.compare_digest(expected.encode(), offered.encode())


async def check_csrf(request: web.Request, form: Mapping[str, str]) -> None:
    """403 unless the form field (or the header, for scripts) matches the session's token."""
    if not matches(await get_session(request), str(form.get(FIELD) or request.headers.get(HEADER, ""))):
        raise web.HTTPForbidden(text="invalid CSRF token: reload the page and try again\n")


def check_csrf_header(request: web.Request, session: Session) -> None:
    """For an API write authenticated by the session cookie: 403 unless ``X-CSRF-Token`` is the session's."""
    if not matches(session, request.headers.get(HEADER, "")):
        raise APIError(f"invalid CSRF token: a write authenticated by the session cookie must send the page's "
                       f"csrf-token in {HEADER}", status=403, code="INVALID_CSRF_TOKEN")
