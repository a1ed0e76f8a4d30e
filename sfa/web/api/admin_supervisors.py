"""``GET /api/admin/supervisors``: the live supervision tree, for operators (admin or higher).

The same snapshot ``python3 run.py status`` prints: for each node its name, type, strategy and intensity;
for each child its pid, state, restarts within the window, mailbox depth, current job id and uptime.
"""

from __future__ import annotations

from aiohttp import web

from sfa.web.auth import require_role
from sfa.web.envelope import data
from sfa.web.errors import APIError
from sfa.web.keys import ACTOR_TREE
from sfa.web.openapi import data_reply, operation
from sfa.web.openapi.components import SUPERVISION_TREE

routes = web.RouteTableDef()


@routes.get("/api/admin/supervisors")
@operation("The live supervision tree (admin)", tag="admin", errors=(503,),
           replies=data_reply(SUPERVISION_TREE, "the tree's snapshot"))
@require_role("admin")
async def supervisors(request: web.Request) -> web.Response:
    tree = request.app.get(ACTOR_TREE)
    if tree is None:
        raise APIError("this server runs no supervision tree", status=503)
    return data(tree.snapshot())
