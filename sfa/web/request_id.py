"""A request id for every request: taken from a sane ``X-Request-Id`` header or made here, echoed on the
response, and carried by every log line written while the request runs (both in :mod:`sfa.web.middleware`)."""

from __future__ import annotations

import os
import re

from aiohttp import web

HEADER = "X-Request-Id"
ACCEPTABLE = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
REQUEST_ID = web.RequestKey("request_id", str)


def request_id(request: web.Request) -> str:
    if REQUEST_ID not in request:
        offered = request.headers.get(HEADER, "")
        # 32 random hex digits, a uuid4's form, without making the UUID object (a fifth of the cost).
        request[REQUEST_ID] = offered if offered and ACCEPTABLE.match(offered) else os.urandom(16).hex()
    return request[REQUEST_ID]
