"""The socket endpoint at ``/socket`` (Phoenix's ``socket "/socket", UserSocket``): negotiates the
serializer, authenticates the connection, and keeps the live sockets so a shutdown can close them (and an
operator can count them, with the channels they hold: :meth:`PhoenixEndpoint.live_actors`).

Like a Phoenix socket with an ``id``, every socket listens on ``users_socket:<user_id>``: a ``disconnect``
broadcast there (a suspension, from any node) closes all of that user's sockets with 1001.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from sfa.db.database import Database
from sfa.pubsub import Broadcast, PubSub
from sfa.web.keys import ACTOR_TREE
from sfa.web.origin import origin_allowed
from sfa.web.phoenix.channel import SocketContext
from sfa.web.phoenix.router import ChannelRouter
from sfa.web.phoenix.serializers import serializer_for
from sfa.web.phoenix.socket import DRAINING, GOING_AWAY, PhoenixSocket, SocketLimits

if TYPE_CHECKING:
    from sfa.accounts import User

log = logging.getLogger(__name__)

Authenticator = Callable[[web.Request, dict[str, str]], Awaitable["User | None"]]
ConnectInfo = Callable[[web.Request, dict[str, str]], Awaitable[Mapping[str, Any]]]
DISCONNECT = "disconnect"


def socket_topic(user_id: int) -> str:
    return f"users_socket:{user_id}"


def disconnect_user(user_id: int) -> Broadcast:
    """The broadcast that closes every socket ``user_id`` holds, on every node."""
    return Broadcast(socket_topic(user_id), DISCONNECT, {})


@dataclass(frozen=True, slots=True)
class LiveActors:
    sockets: int
    channels: int


class PhoenixEndpoint:
    def __init__(self, *, router: ChannelRouter, authenticate: Authenticator, database: Database,
                 pubsub: PubSub, limits: SocketLimits, longpoll_window_s: float, handshake_timeout_s: float,
                 allowed_origins: frozenset[str] = frozenset(), connect_info: ConnectInfo | None = None) -> None:
        self.router = router
        self._connect_info = connect_info
        self.allowed_origins = allowed_origins
        self.limits = limits
        self.longpoll_window_s = longpoll_window_s
        self.handshake_timeout_s = handshake_timeout_s
        self._authenticate = authenticate
        self._database = database
        self._pubsub = pubsub
        self.sockets: set[PhoenixSocket] = set()
        """Every socket whose actor has not stopped yet (it leaves once the actor and its channels have)."""

    async def connect(self, request: web.Request, params: dict[str, str], *,
                      limits: SocketLimits | None = None) -> PhoenixSocket | None:
        """A started socket, or None when the ``vsn`` is unknown, the page's origin is not allowed or the
        connection is not authenticated."""
        if not origin_allowed(request, self.allowed_origins):
            log.info("socket refused: origin %r is not allowed", request.headers.get("Origin"))
            return None
        serializer = serializer_for(params.get("vsn"))
        if serializer is None:
            log.info("socket refused: unsupported vsn %r", params.get("vsn"))
            return None
        user = await self._authenticate(request, params)
        if user is None:
            log.info("socket refused: not authenticated")
            return None
        tree = request.app.get(ACTOR_TREE)
        presence = None if tree is None else await tree.presences.presence(f"user:{user.id}")
        info = {} if self._connect_info is None else await self._connect_info(request, params)
        socket = PhoenixSocket(serializer, self.router,
                               SocketContext(user, self._database, self._pubsub, presence, info),
                               limits or self.limits)
        self.sockets.add(socket)

        def on_broadcast(message: Broadcast) -> None:
            if message.event == DISCONNECT:
                log.info("socket of user %s closed: disconnect broadcast", user.id)
                socket.close(GOING_AWAY, "disconnected")

        subscription = self._pubsub.subscribe(socket_topic(user.id), on_broadcast)

        def forget(_: object) -> None:
            subscription.cancel()
            self.sockets.discard(socket)

        socket.start().add_done_callback(forget)
        return socket

    def live_actors(self) -> LiveActors:
        """How many socket actors run now, and how many channel actors they hold."""
        return LiveActors(len(self.sockets), sum(socket.channel_count for socket in self.sockets))

    async def shutdown(self, app: web.Application | None = None) -> None:
        """Close every socket as a draining Phoenix endpoint does (code 1012); clients reconnect elsewhere."""
        for socket in list(self.sockets):
            socket.close(DRAINING, "server shutting down")
