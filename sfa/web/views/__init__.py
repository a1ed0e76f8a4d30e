"""The product's live pages, and the document and 404 page around them."""

from __future__ import annotations

from html import escape

from aiohttp import web
from aiohttp_session import get_session

from sfa.accounts.socket_tokens import mint_socket_token
from sfa.accounts.users import User
from sfa.web.csrf import csrf_token
from sfa.web.keys import CONFIG, SOCKET_TOKEN_KEY
from sfa.web.live import LiveRoutes
from sfa.web.pages.home import welcome
from sfa.web.pages.layout import document, render
from sfa.web.views.admin import AdminJobsView, AdminTreeView, AdminUsersView
from sfa.web.views.chat import ChatView
from sfa.web.views.dashboard import DashboardView
from sfa.web.views.importer import ImportView
from sfa.web.views.track import TrackView


def live_routes() -> LiveRoutes:
    routes = LiveRoutes()
    routes.live("/", DashboardView, anonymous=welcome)
    routes.live("/import", ImportView)
    routes.live("/tracks/{id:\\d{1,18}}", TrackView)
    routes.live("/chat", ChatView)
    routes.live("/chat/{id:\\d{1,18}}", ChatView)
    routes.live("/admin", AdminUsersView)
    routes.live("/admin/jobs", AdminJobsView)
    routes.live("/admin/tree", AdminTreeView)
    return routes


def live_document(request: web.Request, user: User, title: str, body: str, csrf: str) -> web.Response:
    """A live page; its head also carries a short-lived socket token for scripts using the ``phoenix`` client."""
    token = mint_socket_token(request.app[SOCKET_TOKEN_KEY], user.id, request.app[CONFIG].socket_token_ttl_s)
    return document(title, body, csrf=csrf, head=f'<meta name="socket-token" content="{escape(token)}">')


async def not_found(request: web.Request, user: User, message: str) -> web.Response:
    csrf = csrf_token(await get_session(request))
    body = f'<p id="not-found">{escape(message)}.</p><p><a href="/">Back to your tracks</a></p>'
    return render("Not found", body, user=user, csrf=csrf, status=404)
