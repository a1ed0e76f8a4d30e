"""How the app is served on a socket, in production and in the tests alike: through guarded connections
(:mod:`sfa.web.connection_guard`) bounded by the app's settings, logging each request with credentials
filtered (:mod:`sfa.web.access_log`)."""

from __future__ import annotations

import resource
from typing import Any

from aiohttp import web

from sfa.web.access_log import AccessLogger
from sfa.web.connection_guard import ConnectionLimits, GuardedAppRunner
from sfa.web.keys import CONFIG

# Descriptors kept for what is not a client connection: the database pool, uploads being written, pipes to
# the worker processes, logs, the embedded PostgreSQL's sockets.
RESERVED_DESCRIPTORS = 256
MIN_CONNECTIONS = 64
UNLIMITED_CONNECTIONS = 1_000_000


def connection_capacity() -> int:
    """How many connections this process can hold: its descriptor limit, less what the rest of it needs."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return UNLIMITED_CONNECTIONS
    return max(MIN_CONNECTIONS, soft - RESERVED_DESCRIPTORS)


def app_runner(app: web.Application, **kwargs: Any) -> web.AppRunner:
    """The runner for ``app``; ``kwargs`` go to ``web.AppRunner`` (a test server passes its own)."""
    config = app[CONFIG]
    limits = ConnectionLimits(header_timeout_s=config.header_timeout_s, body_timeout_s=config.body_timeout_s,
                              max_per_peer=config.max_connections_per_ip, max_total=connection_capacity())
    return GuardedAppRunner(app, limits=limits, access_log_class=AccessLogger, **kwargs)


async def serve(app: web.Application, host: str, port: int, **kwargs: Any) -> web.AppRunner:
    """Start serving ``app`` on ``host:port``; ``runner.cleanup()`` stops it."""
    runner = app_runner(app, **kwargs)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
