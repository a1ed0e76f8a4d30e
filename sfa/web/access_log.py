"""The access log: one line per request, with credentials in the query string filtered by name.

A Phoenix socket URL carries its token in the query (``/socket/websocket?token=…``), as does an OAuth callback
(``?code=…&state=…``); the line keeps every other parameter, so what was asked stays readable.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from sfa.log import FILTERED, is_sensitive_name


def filtered_target(request: web.BaseRequest) -> str:
    """The request's path and query as it arrived, but for the values of sensitive parameters."""
    if not request.query_string:
        return request.raw_path
    query = [(name, FILTERED if is_sensitive_name(name) else value) for name, value in request.query.items()]
    return f"{request.rel_url.raw_path}?{urlencode(query, safe='[]/:,')}"


class AccessLogger(AbstractAccessLogger):
    """The line goes through the logger's handlers, and so through their secret filter, like every other; made
    as ``Logger.info`` would but for ``findCaller``, whose walk up the stack names aiohttp's frame anyway."""

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.handle(self.logger.makeRecord(
            self.logger.name, logging.INFO, __file__, 0, '%s "%s %s HTTP/%d.%d" %d %d %.6fs',
            (request.remote, request.method, filtered_target(request), *request.version, response.status,
             response.body_length, time), None))
