"""``GET /api/openapi.json``: the API's OpenAPI 3.1 document, generated from the router on each request."""

from __future__ import annotations

from aiohttp import web

from sfa.web.envelope import dumps
from sfa.web.openapi import Reply, build_document, operation

routes = web.RouteTableDef()


@routes.get("/api/openapi.json")
@operation("This document", tag="meta", authenticated=False,
           replies=Reply(200, "the OpenAPI 3.1 document", {"application/json": {"type": "object"}}))
async def document(request: web.Request) -> web.Response:
    return web.json_response(build_document(request.app), dumps=dumps)
