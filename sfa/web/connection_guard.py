"""Guarded connections: the bounds an HTTP connection must keep before and while the app reads its request.

aiohttp trusts its peers by default: a connection that never finishes its request head, or a request body
that stops arriving, holds a descriptor (and a buffer) for as long as the peer likes, so a few thousand such
connections exhaust the process. The guard works at the protocol level, in the one ``RequestHandler`` aiohttp
makes per connection, so a connection that breaks a bound costs no request object and no handler:

- **Request head.** aiohttp's keep-alive timer is armed when a connection opens and again when a response
  has been written, and closes the connection if no complete request head has arrived by then. Set to
  ``header_timeout_s`` it is the header timeout (Cowboy's ``request_timeout``, Go's ``ReadHeaderTimeout``):
  bytes do not push the deadline, so a client trickling a byte a second gains nothing.
- **Request body.** A body that sends nothing for ``body_timeout_s`` while the handler waits for it fails
  the handler's read with :class:`BodyTimeout` (answered 408) and the connection is closed after the answer.
  The timeout is per read, as aiohttp's client ``sock_read``: a large upload on a slow link that keeps
  sending is never cut, and time the transport is paused because the handler reads slowly does not count.
- **Connections.** At most ``max_per_peer`` open connections per IPv4 address or IPv6 /64 (one host's
  usual allocation), and ``max_total`` in all (below the descriptor limit, so many peers together cannot
  exhaust it either); the next one is answered a fixed ``503`` and closed before any byte is read.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.streams import StreamReader

LOCAL_PEER = "local"
RETRY_AFTER_S = 5


def _refusal(message: str) -> bytes:
    body = json.dumps({"error": message, "code": "SERVICE_UNAVAILABLE"}, separators=(",", ":"))
    head = ("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nRetry-After: {RETRY_AFTER_S}\r\nConnection: close\r\n\r\n")
    return (head + body).encode()


PEER_FULL = _refusal("too many connections from your address")
SERVER_FULL = _refusal("the server is at its connection limit")


class BodyTimeout(TimeoutError):
    """The request body sent nothing for the body timeout while the handler waited for it.

    A ``TimeoutError``, so aiohttp's lingering read after the answer ends quietly and closes the connection.
    """

    def __init__(self, timeout_s: float) -> None:
        super().__init__(f"the request body stalled: nothing arrived for {timeout_s:g} s")


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """The bounds a :class:`GuardedServer` keeps (``SFA_HEADER_TIMEOUT_S``, ``SFA_BODY_TIMEOUT_S``,
    ``SFA_MAX_CONNECTIONS_PER_IP``, and ``max_total`` from the descriptor limit)."""

    header_timeout_s: float
    body_timeout_s: float
    max_per_peer: int
    max_total: int


def peer_key(peername: Any) -> str:
    """What the per-peer cap counts by: an IPv4 address, or the /64 network of an IPv6 one."""
    if not isinstance(peername, tuple):
        return LOCAL_PEER
    address = ipaddress.ip_address(peername[0].partition("%")[0])
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class ConnectionCounts:
    """Open connections, per peer and in all, for the caps; a peer leaves the map with its last connection."""

    def __init__(self, max_per_peer: int, max_total: int) -> None:
        self.max_per_peer = max_per_peer
        self.max_total = max_total
        self.total = 0
        self.open: Counter[str] = Counter()

    def admit(self, peer: str) -> bytes | None:
        """Count a new connection from ``peer``; or, when a cap is reached, the answer that refuses it."""
        if self.open[peer] >= self.max_per_peer:
            return PEER_FULL
        if self.total >= self.max_total:
            return SERVER_FULL
        self.open[peer] += 1
        self.total += 1
        return None

    def release(self, peer: str) -> None:
        self.total -= 1
        self.open[peer] -= 1
        if self.open[peer] <= 0:
            del self.open[peer]


class GuardedRequestHandler(web.RequestHandler):
    """aiohttp's connection protocol plus the connection caps and the body read timeout."""

    __slots__ = (
        "_body",
        "_body_check",
        "_body_paused",
        "_body_progress_at",
        "_body_timeout_s",
        "_counts",
        "_peer",
    )

    def __init__(self, manager: web.Server, *, counts: ConnectionCounts, body_timeout_s: float,
                 **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._counts = counts
        self._peer: str | None = None
        self._body_timeout_s = body_timeout_s
        self._body: StreamReader | None = None
        self._body_progress_at = 0.0
        self._body_check: asyncio.TimerHandle | None = None
        self._body_paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        peer = peer_key(transport.get_extra_info("peername"))
        refusal = self._counts.admit(peer)
        if refusal is not None:
            # Not handed to aiohttp at all: no parser input, no task, no request.
            transport.write(refusal)
            transport.close()
            return
        self._peer = peer
        super().connection_made(transport)

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._peer is not None:
            self._counts.release(self._peer)
            self._peer = None
        self._forget_body()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._body is not None:
            self._body_progress_at = self._loop.time()

    def pause_reading(self) -> None:
        super().pause_reading()
        self._body_paused = True

    def resume_reading(self, resume_parser: bool = True) -> None:
        self._body_paused = False
        super().resume_reading(resume_parser)
        if self._body is not None:
            self._body_progress_at = self._loop.time()
            self._schedule_body_check()

    def watch_body(self, body: StreamReader) -> None:
        """Time the reads of ``body``, the request about to be handled, unless it has all arrived."""
        self._forget_body()
        if body.is_eof():
            return
        self._body = body
        self._body_progress_at = self._loop.time()
        self._schedule_body_check()

    def _schedule_body_check(self) -> None:
        # One timer per body, pushed lazily: data_received only records the time, as aiohttp's keep-alive does.
        if self._body_check is None:
            self._body_check = self._loop.call_at(self._body_progress_at + self._body_timeout_s, self._check_body)

    def _check_body(self) -> None:
        self._body_check = None
        body = self._body
        if body is None or body.is_eof():
            self._body = None
            return
        if self._body_paused:
            return
        if self._loop.time() < self._body_progress_at + self._body_timeout_s:
            self._schedule_body_check()
            return
        self._body = None
        body.set_exception(BodyTimeout(self._body_timeout_s))

    def _forget_body(self) -> None:
        self._body = None
        if self._body_check is not None:
            self._body_check.cancel()
            self._body_check = None


class GuardedServer(web.Server):
    """``web.Server`` whose connections are :class:`GuardedRequestHandler`, counted in ``counts``."""

    def __init__(self, handler: Any, *, limits: ConnectionLimits, **kwargs: Any) -> None:
        super().__init__(handler, keepalive_timeout=limits.header_timeout_s, **kwargs)
        self.limits = limits
        self.counts = ConnectionCounts(limits.max_per_peer, limits.max_total)
        build_request = self.request_factory

        def request_factory(message: Any, payload: StreamReader, protocol: GuardedRequestHandler, writer: Any,
                            task: asyncio.Task[None]) -> web.BaseRequest:
            protocol.watch_body(payload)
            return build_request(message, payload, protocol, writer, task)

        self.request_factory = request_factory

    def __call__(self) -> GuardedRequestHandler:
        return GuardedRequestHandler(self, counts=self.counts,
                                     body_timeout_s=self.limits.body_timeout_s, loop=self._loop, **self._kwargs)


class GuardedAppRunner(web.AppRunner):
    """``web.AppRunner`` serving the app through a :class:`GuardedServer`."""

    __slots__ = ("limits",)

    def __init__(self, app: web.Application, *, limits: ConnectionLimits, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.limits = limits

    async def _make_server(self) -> GuardedServer:
        plain = await super()._make_server()
        # The Application builds a plain web.Server itself (running the app's startup); the guarded one
        # takes over its handler, request factory and connection arguments.
        kwargs = {name: value for name, value in plain._kwargs.items() if name != "keepalive_timeout"}
        return GuardedServer(plain.request_handler, request_factory=plain.request_factory,
                             handler_cancellation=plain.handler_cancellation, limits=self.limits, **kwargs)
