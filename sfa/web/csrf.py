"""CSRF protection for browser forms: a per-session token every unsafe browser request must echo."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping

from aiohttp import web
from aiohttp_session import Session, get_session

FIELD = "_csrf_token"
HEADER = "X-CSRF-Token"
SESSION_KEY = "csrf_token"


def csrf_token(session: Session) -> str:
    if not isinstance(session.get(SESSION_KEY), str):
        session[SESSION_KEY] = secrets.token_urlsafe(32)
    return session[SESSION_KEY]


async def check_csrf(request: web.Request, form: Mapping[str, str]) -> None:
    """403 unless the form field (or the header, for scripts) matches the session's token."""
    expected = (await get_session(request)).get(SESSION_KEY)
    offered = form.get(FIELD) or request.headers.get(HEADER, "")
    if not isinstance(expected, str) or not hmac.compare_digest(expected.encode(), str(offered).encode()):
        raise web.HTTPForbidden(text="invalid CSRF token: reload the page and try again\n")
