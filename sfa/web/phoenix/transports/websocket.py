"""``GET /socket/websocket``: the WebSocket transport.

The auth token arrives as the ``token`` query parameter or, from the ``authToken`` client option, as the
subprotocol ``base64url.bearer.phx.<base64url token>`` beside ``phoenix`` (which we echo). A refused
connection gets HTTP 403 before any upgrade; one whose authentication and upgrade take longer than the
handshake timeout gets 503.

The connection lives exactly as long as its socket actor: when the actor closes (or ends in any way, see
:meth:`PhoenixSocket.start`) the client gets a close frame with the actor's code, and when the client goes
or our reader or writer fails (1011, logged), the actor is closed.

Frames are written to the connection at once while its send buffer is short (:func:`direct_writer`), which
is how one broadcast reaches thousands of sockets in one pass; the writer task takes over only for a client
that reads slowly. Like Phoenix's endpoint by default, it does not compress: a per-message-deflate context
costs each connection hundreds of KiB and makes every socket's bytes different, where the fastlane writes the
same bytes to all of them.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import logging
import struct
from collections.abc import Callable

from aiohttp import WSMsgType, web

from sfa.web.keys import PHOENIX
from sfa.web.phoenix.socket import INTERNAL_ERROR, NORMAL, Closed, PhoenixSocket

log = logging.getLogger(__name__)

SUBPROTOCOL = "phoenix"
TOKEN_PREFIX = "base64url.bearer.phx."
CLOSE_TIMEOUT_S = 2.0
MAX_FRAME_BYTES = 8 * 1024 * 1024
SEND_BUFFER_MAX = 64 * 1024
"""Past this many unsent bytes, frames wait in the outbox for the writer task, which waits for the client."""
TEXT, BINARY = 0x1, 0x2


def subprotocol_token(header_values: list[str]) -> str | None:
    """The token carried in ``Sec-WebSocket-Protocol``, or None (also when it is not valid base64url)."""
    for value in header_values:
        for protocol in value.split(","):
            protocol = protocol.strip()
            if protocol.startswith(TOKEN_PREFIX):
                encoded = protocol[len(TOKEN_PREFIX):]
                try:
                    return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
                except (binascii.Error, ValueError):
                    return None
    return None


async def websocket(request: web.Request, endpoint_key: web.AppKey = PHOENIX) -> web.WebSocketResponse:
    """Serve one connection of the endpoint at ``app[endpoint_key]`` (another key mounts another socket)."""
    endpoint = request.app[endpoint_key]
    params = dict(request.query)
    token = subprotocol_token(request.headers.getall("Sec-WebSocket-Protocol", []))
    if token is not None:
        params["token"] = token
    try:
        async with asyncio.timeout(endpoint.handshake_timeout_s):
            socket = await endpoint.connect(request, params)
            if socket is None:
                raise web.HTTPForbidden()
            ws = web.WebSocketResponse(protocols=(SUBPROTOCOL,), max_msg_size=MAX_FRAME_BYTES, compress=False)
            try:
                await ws.prepare(request)
            except BaseException:
                socket.close(NORMAL, "upgrade failed")
                raise
    except TimeoutError:
        log.warning("websocket handshake took over %g s", endpoint.handshake_timeout_s)
        raise web.HTTPServiceUnavailable(headers={"Retry-After": "1"}) from None
    if request.transport is not None:
        socket.write_now = direct_writer(ws, request.transport)
    await _serve(request, ws, socket)
    return ws


def direct_writer(ws: web.WebSocketResponse, transport: asyncio.Transport) -> Callable[[str | bytes], bool]:
    """Writes a frame to the connection now, or says False (closing, or the client has not read enough)."""

    def write_now(frame: str | bytes) -> bool:
        if ws.closed or transport.is_closing() or transport.get_write_buffer_size() > SEND_BUFFER_MAX:
            return False
        transport.write(wire_frame(frame))
        return True

    return write_now


@functools.lru_cache(maxsize=4)
def wire_frame(frame: str | bytes) -> bytes:
    """A server's WebSocket frame (RFC 6455 5.2: final, unmasked, uncompressed) holding ``frame``; cached, as
    a fan-out writes the same frame to every socket in turn."""
    opcode, data = (BINARY, frame) if isinstance(frame, bytes) else (TEXT, frame.encode())
    size = len(data)
    if size < 126:
        header = struct.pack("!BB", 0x80 | opcode, size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", 0x80 | opcode, 126, size)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 127, size)
    return header + data


async def _serve(request: web.Request, ws: web.WebSocketResponse, socket: PhoenixSocket) -> None:
    reader = asyncio.create_task(_read(ws, socket), name="websocket reader")
    writer = asyncio.create_task(_write(ws, socket), name="websocket writer")
    try:
        await asyncio.wait((reader, writer, socket.closed), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (reader, writer):
            _close_if_failed(task, socket)
        socket.close(NORMAL, "client went away")
        for task in (reader, writer):
            task.cancel()
        await asyncio.gather(reader, writer, return_exceptions=True)
        await socket.wait_stopped()
        closed = socket.closed.result()
        await _close(request, ws, closed)


def _close_if_failed(task: asyncio.Task[None], socket: PhoenixSocket) -> None:
    """A reader or writer that raised, other than for the connection dropping, is our bug."""
    if not task.done() or task.cancelled():
        return
    failure = task.exception()
    if failure is not None and not isinstance(failure, ConnectionError):
        log.error("socket of user %s closed: %s failed", socket.context.user.id, task.get_name(), exc_info=failure)
        socket.close(INTERNAL_ERROR, "internal error")


async def _read(ws: web.WebSocketResponse, socket: PhoenixSocket) -> None:
    async for frame in ws:
        match frame.type:
            case WSMsgType.TEXT | WSMsgType.BINARY:
                await socket.receive(frame.data)
            case WSMsgType.ERROR:
                log.info("websocket error: %s", ws.exception())
                return


async def _write(ws: web.WebSocketResponse, socket: PhoenixSocket) -> None:
    while True:
        frame = await socket.outbox.get()
        if isinstance(frame, bytes):
            await ws.send_bytes(frame)
        else:
            await ws.send_str(frame)


async def _close(request: web.Request, ws: web.WebSocketResponse, closed: Closed) -> None:
    """Close politely; a client that does not read even the close frame is cut off."""
    if ws.closed:
        return
    try:
        async with asyncio.timeout(CLOSE_TIMEOUT_S):
            await ws.close(code=closed.code, message=closed.reason.encode())
    except (TimeoutError, ConnectionError):
        if request.transport is not None:
            request.transport.abort()
