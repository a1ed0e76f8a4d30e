"""The landing page. A signed-in page carries a short-lived socket token for the ``phoenix`` client."""

from __future__ import annotations

from html import escape

from aiohttp import web
from aiohttp_session import get_session

from sfa.accounts.socket_tokens import mint_socket_token
from sfa.web.auth import identify
from sfa.web.csrf import csrf_token
from sfa.web.keys import CONFIG, SOCKET_TOKEN_KEY
from sfa.web.pages.layout import render

routes = web.RouteTableDef()


@routes.get("/")
async def home(request: web.Request) -> web.Response:
    user = await identify(request)
    csrf = csrf_token(await get_session(request))
    if user is None or not user.active:
        body = '<p>Bring a track; get stems, tempo, key and live progress. <a href="/users/log_in">Log in</a>.</p>'
        return render("Welcome", body, user=None, csrf=csrf)
    token = mint_socket_token(request.app[SOCKET_TOKEN_KEY], user.id, request.app[CONFIG].socket_token_ttl_s)
    head = f'<meta name="socket-token" content="{escape(token)}">'
    body = "<p>Your tracks and jobs appear here as they progress.</p>"
    return render("Your library", body, user=user, csrf=csrf, head=head)
