"""``GET /health``: ok while the database answers and the worker tree runs; 503 ``degraded`` naming what
failed otherwise (a load balancer takes the node out, an operator reads why)."""

from aiohttp import web

from sfa.web.keys import ACTOR_TREE, CONFIG, DATABASE
from sfa.web.openapi import Reply, operation
from sfa.web.openapi.schema import obj

routes = web.RouteTableDef()


@routes.get("/health")
@operation("Liveness: the database and the worker tree", tag="meta", authenticated=False,
           replies=(Reply(200, "healthy", {"application/json": obj({"status": {"const": "ok"}})}),
                    Reply(503, "degraded", {"application/json": obj({"status": {"const": "degraded"},
                                                                     "checks": {"type": "object"}})})))
async def health(request: web.Request) -> web.Response:
    checks = {"database": await request.app[DATABASE].ping(request.app[CONFIG].health_timeout_s)}
    if (tree := request.app.get(ACTOR_TREE)) is not None:
        checks["workers"] = tree.problem()
    failed = {name: problem for name, problem in checks.items() if problem is not None}
    if not failed:
        return web.json_response({"status": "ok"})
    return web.json_response({"status": "degraded", "checks": failed}, status=503)
