"""The landing page for visitors who are not signed in (signed-in users get the dashboard, a live page)."""

from __future__ import annotations

from aiohttp import web
from aiohttp_session import get_session

from sfa.web.csrf import csrf_token
from sfa.web.pages.layout import render


async def welcome(request: web.Request) -> web.Response:
    csrf = csrf_token(await get_session(request))
    body = ('<p>Bring a track; get stems, tempo, key and live progress. <a href="/users/log_in">Log in</a> or '
            '<a href="/users/register">register</a>.</p>')
    return render("Welcome", body, user=None, csrf=csrf)
