"""``GET /health``: ok while the database answers, 503 ``degraded`` naming what failed otherwise."""

from aiohttp import web

from sfa.web.keys import CONFIG, DATABASE

routes = web.RouteTableDef()


@routes.get("/health")
async def health(request: web.Request) -> web.Response:
    problem = await request.app[DATABASE].ping(request.app[CONFIG].health_timeout_s)
    if problem is None:
        return web.json_response({"status": "ok"})
    return web.json_response({"status": "degraded", "checks": {"database": problem}}, status=503)
