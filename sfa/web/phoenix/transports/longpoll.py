"""``/socket/longpoll``: the HTTP long-polling transport the ``phoenix`` client falls back to.

A connection is a :class:`PhoenixSocket` plus a signed token the client sends back on every request
(``X-Phoenix-Longpoll-Token``, or the last ``token`` query parameter). GET waits up to the window for
frames; POST delivers the client's frames, one per ndjson line (``[``… is a text frame, any other line is a
base64 binary frame). The HTTP status is 200; the logical one is the body's ``"status"``: 410 asks the
client to (re)open a connection, 204 means nothing arrived in the window, 403 refused, 500 an open that took
longer than the handshake timeout (the client retries). Every request is bounded: a GET by the window, an
open by the handshake timeout, a POST's frames by the window and its body by the connection guard's body
timeout (a stalled body is answered HTTP 408, which the client also retries after).
A binary frame for the client travels base64-encoded, as the client sends its own (the JS LongPoll hands
message strings to the JSON decoder, so binary replies suit WebSocket clients best).

Connections live in the process that created them, and any node serves their requests by PubSub
(:mod:`.longpoll_connections`): behind a load balancer, long-poll needs no sticky sessions.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
from typing import TYPE_CHECKING

from aiohttp import web

from sfa.web.keys import PHOENIX
from sfa.web.phoenix.socket import SocketLimits
from sfa.web.phoenix.transports.longpoll_connections import LongPollConnections, token_topic

if TYPE_CHECKING:
    from sfa.web.phoenix.endpoint import PhoenixEndpoint

log = logging.getLogger(__name__)

HEADERS = {"cache-control": "no-store", "access-control-allow-origin": "*"}

CONNECTIONS = web.AppKey("longpoll_connections", LongPollConnections)


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


def _connection_tokens(request: web.Request) -> list[str]:
    header = request.headers.get("X-Phoenix-Longpoll-Token")
    return ([header] if header else []) + request.query.getall("token", [])[::-1]


async def _get(request: web.Request, endpoint_key: web.AppKey) -> web.Response:
    connections = request.app[CONNECTIONS]
    token = connections.verified(_connection_tokens(request))
    polled = None if token is None else await connections.poll(token_topic(token))
    if polled is None:
        return await _open(request, connections, request.app[endpoint_key])
    return reply({"status": polled.status, "token": token, "messages": polled.messages})


async def _open(request: web.Request, connections: LongPollConnections, endpoint: PhoenixEndpoint) -> web.Response:
    params = dict(request.query)
    # The client sends "token=null" (its connection token) before it has one; that is no auth token.
    auth_tokens = [token for token in request.query.getall("token", []) if token != "null"]
    params.pop("token", None)
    if header := request.headers.get("X-Phoenix-AuthToken"):
        params["token"] = header
    elif auth_tokens:
        params["token"] = auth_tokens[0]
    window = endpoint.longpoll_window_s
    # Long-poll sends no heartbeats: the connection ends after 1.5 windows without a request, as Phoenix's.
    limits = SocketLimits(1.5 * window, endpoint.limits.outbox_max, endpoint.limits.max_channels)
    try:
        async with asyncio.timeout(endpoint.handshake_timeout_s):
            socket = await endpoint.connect(request, params, limits=limits)
    except TimeoutError:
        log.warning("long-poll open took over %g s", endpoint.handshake_timeout_s)
        return reply({"status": 500})
    if socket is None:
        return reply({"status": 403})
    connection = connections.open(socket)
    return reply({"status": 410, "token": connection.token, "messages": []})


async def _post(request: web.Request) -> web.Response:
    connections = request.app[CONNECTIONS]
    token = connections.verified(_connection_tokens(request))
    if token is None:
        return reply({"status": 410})
    try:
        frames = _frames(request.content_type, await request.text())
    except (binascii.Error, ValueError, LookupError) as exc:  # LookupError: a charset Python does not know
        log.info("long-poll: unreadable POST (%s)", exc)
        return reply({"status": 400})
    status = await connections.deliver(token_topic(token), frames)
    return reply({"status": 410 if status is None else status})


def _frames(content_type: str, body: str) -> list[str | bytes]:
    if content_type != "application/x-ndjson":
        return [body]
    lines = [line for line in body.split("\n") if line]
    return [line if line.startswith("[") else base64.b64decode(line, validate=True) for line in lines]
