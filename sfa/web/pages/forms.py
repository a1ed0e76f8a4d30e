"""What every page handler that changes something starts with: a signed-in user, a form that passed CSRF."""

from __future__ import annotations

from aiohttp import web

from sfa.accounts.users import User
from sfa.web.auth import identify
from sfa.web.csrf import check_csrf


async def checked_form(request: web.Request) -> dict[str, str]:
    """The posted form's text fields; 403 unless it carries the session's CSRF token."""
    form = {key: value for key, value in (await request.post()).items() if isinstance(value, str)}
    await check_csrf(request, form)
    return form


async def signed_in(request: web.Request) -> User:
    """The active user of this browser, or a redirect to the log-in page."""
    user = await identify(request)
    if user is None or not user.active:
        raise web.HTTPFound("/users/log_in")
    return user
