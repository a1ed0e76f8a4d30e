"""The HTTP render of a live page (the dead render): mount, render once, embed the signed tokens.

The page works before its script runs (links and the tree's HTML are there); the client then joins
``lv:<id>`` with the tokens and the view mounts again, connected. A view that raises :class:`NotFound`
gives a 404 page, one that redirects in ``mount`` a 302.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp_session import get_session

from sfa.accounts.users import User
from sfa.web.auth import identify
from sfa.web.csrf import csrf_token
from sfa.web.live.routes import view_name
from sfa.web.live.tokens import sign_session, sign_static
from sfa.web.live.view import LiveView, NotFound, ViewEnv

NotFoundPage = Callable[[web.Request, User, str], Awaitable[web.Response]]
Document = Callable[[web.Request, User, str, str, str], web.Response]
"""(request, user, title, body, csrf) -> the whole page around a live container."""
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def render_live(request: web.Request, view_class: type[LiveView], *, token_key: bytes,
                      document: Document, not_found: NotFoundPage, anonymous: Handler | None = None
                      ) -> web.StreamResponse:
    """The page of ``view_class`` for a signed-in user; others get ``anonymous`` or are sent to log in."""
    user = await identify(request)
    if user is None or not user.active:
        if anonymous is not None:
            return await anonymous(request)
        raise web.HTTPFound("/users/log_in")
    session = await get_session(request)
    csrf = csrf_token(session)
    view = view_class(ViewEnv(user, request.app, connected=False, csrf=csrf))
    params = {**request.query, **request.match_info}
    started = time.perf_counter()
    try:
        await view.mount(params, {})
        await view.handle_params(params, str(request.url))
    except NotFound as exc:
        return await not_found(request, user, str(exc) or "not found")
    effects = view.take_effects()
    if target := effects.redirect or (effects.navigate and effects.navigate[0]):
        raise web.HTTPFound(target)
    _, tree = view.rendered()
    view_id = f"phx-{secrets.token_hex(8)}"
    container = (f'<div id="{view_id}" data-phx-main '
                 f'data-phx-session="{sign_session(token_key, view_id, view_name(view_class), user.id)}" '
                 f'data-phx-static="{sign_static(token_key, view_id, {})}">{tree.to_html()}</div>')
    response = document(request, user, view.assigns.get("page_title") or "", container, csrf)
    response.headers["Server-Timing"] = f"render;dur={(time.perf_counter() - started) * 1000:.1f}"
    return response


