"""LiveView over the Phoenix channel machinery: server-rendered pages that the ``phoenix_live_view``
client keeps live over ``/live/websocket`` (or ``/live/longpoll``).

A page is a :class:`LiveView` subclass with a :class:`Template`; :func:`setup` mounts the socket and an HTTP
route per live route. See ``template`` (statics and dynamics), ``diff``, ``view`` (the behaviour),
``channel`` (``lv:<id>``), ``tokens`` and ``http`` (the first render).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from aiohttp import web
from aiohttp_session import get_session

from sfa.web.auth import authenticate_socket
from sfa.web.csrf import FIELD, matches
from sfa.web.keys import CONFIG, DATABASE, PUBSUB
from sfa.web.live.channel import LiveChannel
from sfa.web.live.http import Document, NotFoundPage, render_live
from sfa.web.live.routes import LiveRoutes
from sfa.web.live.template import Rendered, Safe, Template
from sfa.web.live.view import LiveView, NotFound, ViewEnv, event
from sfa.web.phoenix import ChannelRouter, PhoenixEndpoint
from sfa.web.phoenix.socket import SocketLimits
from sfa.web.phoenix.transports.longpoll import longpoll
from sfa.web.phoenix.transports.websocket import websocket

__all__ = ["LIVE", "LiveRoutes", "LiveView", "NotFound", "Rendered", "Safe", "Template", "ViewEnv", "event", "setup"]

LIVE: web.AppKey[PhoenixEndpoint] = web.AppKey("live_endpoint", PhoenixEndpoint)


def setup(app: web.Application, routes: LiveRoutes, *, token_key: bytes, document: Document,
          not_found: NotFoundPage) -> PhoenixEndpoint:
    """Serve ``routes`` over HTTP and their views over ``/live``; the long-poll connections are the app's."""
    config = app[CONFIG]
    router = ChannelRouter()
    router.add("lv:*", LiveChannel)

    async def connect_info(request: web.Request, params: dict[str, str]) -> Mapping[str, Any]:
        offered = params.get(FIELD, "")
        csrf = offered if offered and matches(await get_session(request), offered) else None
        return {"app": request.app, "routes": routes, "token_key": token_key, "csrf": csrf}

    endpoint = PhoenixEndpoint(
        router=router, authenticate=authenticate_socket, database=app[DATABASE], pubsub=app[PUBSUB],
        limits=SocketLimits(config.socket_idle_timeout_s, config.socket_outbox_max),
        longpoll_window_s=config.longpoll_window_s, handshake_timeout_s=config.handshake_timeout_s,
        allowed_origins=config.allowed_origins, connect_info=connect_info)
    app[LIVE] = endpoint
    app.router.add_get("/live/websocket", partial(websocket, endpoint_key=LIVE))
    app.router.add_route("*", "/live/longpoll", partial(longpoll, endpoint_key=LIVE))
    for route in routes:
        app.router.add_get(route.path, partial(render_live, view_class=route.view, token_key=token_key,
                                               document=document, not_found=not_found,
                                               anonymous=route.anonymous))

    async def freeze(app: web.Application) -> None:
        routes.freeze()
        router.freeze()

    app.on_startup.append(freeze)
    app.on_shutdown.append(endpoint.shutdown)
    return endpoint
