"""A request id for every request: taken from a sane ``X-Request-Id`` header or made here, echoed on the
response, and carried by every log line written while the request runs."""

from __future__ import annotations

import re
import uuid

from aiohttp import web
from aiohttp.typedefs import Handler

from sfa.log import request_id_var

HEADER = "X-Request-Id"
ACCEPTABLE = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
REQUEST_ID = web.RequestKey("request_id", str)


def request_id(request: web.Request) -> str:
    if REQUEST_ID not in request:
        offered = request.headers.get(HEADER, "")
        request[REQUEST_ID] = offered if ACCEPTABLE.match(offered) else uuid.uuid4().hex
    return request[REQUEST_ID]


@web.middleware
async def request_id_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    request_id_var.set(request_id(request))
    return await handler(request)


async def add_request_id_header(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare``: reaches every response, including those made from raised HTTP errors."""
    response.headers[HEADER] = request_id(request)
