"""Starting a browser session for a user, shared by every way of logging in (password, Spotify)."""

from __future__ import annotations

from aiohttp import web
from aiohttp_session import new_session

from sfa.accounts.sessions import open_session
from sfa.accounts.users import User
from sfa.web.auth import SESSION_TOKEN
from sfa.web.csrf import csrf_token
from sfa.web.keys import DATABASE


async def log_in_user(request: web.Request, user: User) -> web.Response:
    """Start a fresh session (a new cookie, a new CSRF token) bound to a new server-side session row, and
    send the browser home."""
    session = await new_session(request)
    session[SESSION_TOKEN] = await open_session(request.app[DATABASE], user.id)
    csrf_token(session)
    raise web.HTTPFound("/")
