"""``/socket/longpoll``: the HTTP long-polling transport the ``phoenix`` client falls back to.

A session is a :class:`PhoenixSocket` plus a random token the client sends back on every request
(``X-Phoenix-Longpoll-Token``, or the last ``token`` query parameter). GET waits up to the window for
frames; POST delivers the client's frames, one per ndjson line (``[``… is a text frame, any other line is a
base64 binary frame). The HTTP status is 200; the logical one is the body's ``"status"``: 410 asks the
client to (re)open a session, 204 means nothing arrived in the window, 403 refused, 500 an open that took
longer than the handshake timeout (the client retries). Every request is bounded: a GET by the window, an
open by the handshake timeout, a POST's frames by the window and its body by the connection guard's body
timeout (a stalled body is answered HTTP 408, which the client also retries after).
A binary frame for the client travels base64-encoded, as the client sends its own (the JS LongPoll hands
message strings to the JSON decoder, so binary replies suit WebSocket clients best).

Sessions live in the process that created them: behind a load balancer, long-poll needs sticky sessions
(a request that reaches another process gets 410, and the client reconnects and rejoins its channels).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiohttp import web

from sfa.web.keys import PHOENIX
from sfa.web.phoenix.socket import PhoenixSocket, SocketLimits

if TYPE_CHECKING:
    from sfa.web.phoenix.endpoint import PhoenixEndpoint

log = logging.getLogger(__name__)

HEADERS = {"cache-control": "no-store", "access-control-allow-origin": "*"}


@dataclass(slots=True)
class Session:
    token: str
    socket: PhoenixSocket
    window_s: float
    polling: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def poll(self) -> list[str] | None:
        """Frames for the client, waiting up to the window for the first; None once the socket closed."""
        async with self.polling:
            self.socket.touch()
            if self.socket.outbox.empty():
                arrival = asyncio.ensure_future(self.socket.outbox.get())
                await asyncio.wait((arrival, self.socket.closed), timeout=self.window_s,
                                   return_when=asyncio.FIRST_COMPLETED)
                if not arrival.done():
                    arrival.cancel()
                    return None if self.socket.closed.done() else []
                frames = [arrival.result()]
            else:
                frames = []
            while not self.socket.outbox.empty():
                frames.append(self.socket.outbox.get_nowait())
            return [frame if isinstance(frame, str) else base64.b64encode(frame).decode() for frame in frames]


class LongPollSessions:
    """The sessions of this process, by token; a session leaves when its socket closes."""

    def __init__(self) -> None:
        self._sessions: dict[str, Session] = {}

    def find(self, tokens: list[str]) -> Session | None:
        return next((self._sessions[token] for token in tokens if token in self._sessions), None)

    def open(self, socket: PhoenixSocket, window_s: float) -> Session:
        session = Session(secrets.token_urlsafe(32), socket, window_s)
        self._sessions[session.token] = session
        socket.closed.add_done_callback(lambda _: self._sessions.pop(session.token, None))
        return session


SESSIONS = web.AppKey("longpoll_sessions", LongPollSessions)


def reply(body: dict) -> web.Response:
    return web.json_response(body, headers=HEADERS)


async def longpoll(request: web.Request, endpoint_key: web.AppKey = PHOENIX) -> web.StreamResponse:
    """Serve one request of the endpoint at ``app[endpoint_key]`` (another key mounts another socket)."""
    match request.method:
        case "OPTIONS":
            return web.Response(headers={
                **HEADERS,
                "access-control-allow-headers": request.headers.get("access-control-request-headers", ""),
                "access-control-allow-methods": "get, post, options",
                "access-control-max-age": "3600",
            })
        case "GET":
            return await _get(request, endpoint_key)
        case "POST":
            return await _post(request)
    return web.Response(status=400, text="long-poll takes GET, POST and OPTIONS\n")


def _session_tokens(request: web.Request) -> list[str]:
    header = request.headers.get("X-Phoenix-Longpoll-Token")
    return ([header] if header else []) + request.query.getall("token", [])[::-1]


async def _get(request: web.Request, endpoint_key: web.AppKey) -> web.Response:
    sessions = request.app[SESSIONS]
    session = sessions.find(_session_tokens(request))
    if session is None:
        return await _open(request, sessions, request.app[endpoint_key])
    frames = await session.poll()
    if frames is None:
        return reply({"status": 410})
    return reply({"status": 200 if frames else 204, "token": session.token, "messages": frames})


async def _open(request: web.Request, sessions: LongPollSessions, endpoint: PhoenixEndpoint) -> web.Response:
    params = dict(request.query)
    # The client sends "token=null" (its session token) before it has one; that is no auth token.
    auth_tokens = [token for token in request.query.getall("token", []) if token != "null"]
    params.pop("token", None)
    if header := request.headers.get("X-Phoenix-AuthToken"):
        params["token"] = header
    elif auth_tokens:
        params["token"] = auth_tokens[0]
    window = endpoint.longpoll_window_s
    # Long-poll sends no heartbeats: the session ends after 1.5 windows without a request, as Phoenix's.
    limits = SocketLimits(1.5 * window, endpoint.limits.outbox_max, endpoint.limits.max_channels)
    try:
        async with asyncio.timeout(endpoint.handshake_timeout_s):
            socket = await endpoint.connect(request, params, limits=limits)
    except TimeoutError:
        log.warning("long-poll open took over %g s", endpoint.handshake_timeout_s)
        return reply({"status": 500})
    if socket is None:
        return reply({"status": 403})
    session = sessions.open(socket, window)
    return reply({"status": 410, "token": session.token, "messages": []})


async def _post(request: web.Request) -> web.Response:
    session = request.app[SESSIONS].find(_session_tokens(request))
    if session is None:
        return reply({"status": 410})
    try:
        frames = _frames(request.content_type, await request.text())
    except (binascii.Error, ValueError, LookupError) as exc:  # LookupError: a charset Python does not know
        log.info("long-poll: unreadable POST (%s)", exc)
        return reply({"status": 400})
    try:
        async with asyncio.timeout(session.window_s):
            for frame in frames:
                await session.socket.receive(frame)
    except TimeoutError:
        return reply({"status": 408})
    return reply({"status": 200})


def _frames(content_type: str, body: str) -> list[str | bytes]:
    if content_type != "application/x-ndjson":
        return [body]
    lines = [line for line in body.split("\n") if line]
    return [line if line.startswith("[") else base64.b64decode(line, validate=True) for line in lines]
