"""The Phoenix channel protocol, so ``phoenix`` JS clients connect unchanged: ``/socket/websocket`` and
``/socket/longpoll``, serializers V1 and V2, one in-loop actor per socket and per joined channel.

``setup(app, authenticate=...)`` mounts it and returns the endpoint, whose :class:`ChannelRouter` knows no
channel: the application adds its own (``endpoint.router.add(pattern, ChannelClass)``) until the app starts.
This package is the protocol only; it knows nothing of the product's topics.
"""

from __future__ import annotations

from aiohttp import web

from sfa.accounts.signing import derive_key
from sfa.web.keys import CONFIG, DATABASE, PHOENIX, PUBSUB, SOCKET_TOKEN_KEY
from sfa.web.phoenix.channel import Channel, Error, JoinRefused, Ok, SocketContext, handles
from sfa.web.phoenix.endpoint import Authenticator, PhoenixEndpoint
from sfa.web.phoenix.message import Message, Reply
from sfa.web.phoenix.router import ChannelRouter
from sfa.web.phoenix.socket import SocketLimits
from sfa.web.phoenix.transports.longpoll import CONNECTIONS, longpoll
from sfa.web.phoenix.transports.longpoll_connections import LongPollConnections
from sfa.web.phoenix.transports.websocket import websocket

__all__ = [
    "Channel", "ChannelRouter", "Error", "JoinRefused", "Message", "Ok", "PhoenixEndpoint", "Reply",
    "SocketContext", "handles", "setup",
]


def setup(app: web.Application, *, authenticate: Authenticator) -> PhoenixEndpoint:
    config = app[CONFIG]
    endpoint = PhoenixEndpoint(
        router=ChannelRouter(), authenticate=authenticate, database=app[DATABASE], pubsub=app[PUBSUB],
        limits=SocketLimits(config.socket_idle_timeout_s, config.socket_outbox_max),
        longpoll_window_s=config.longpoll_window_s, handshake_timeout_s=config.handshake_timeout_s,
        allowed_origins=config.allowed_origins,
    )
    app[PHOENIX] = endpoint
    # Every node must derive the same key (one SFA_SECRET_KEY) for a connection token to verify on any of them.
    app[CONNECTIONS] = LongPollConnections(app[PUBSUB], derive_key(app[SOCKET_TOKEN_KEY], "long-poll connection"),
                                     endpoint.longpoll_window_s)
    app.router.add_get("/socket/websocket", websocket)
    app.router.add_route("*", "/socket/longpoll", longpoll)
    app.on_startup.append(_freeze_router)
    app.on_shutdown.append(endpoint.shutdown)
    return endpoint


async def _freeze_router(app: web.Application) -> None:
    app[PHOENIX].router.freeze()
