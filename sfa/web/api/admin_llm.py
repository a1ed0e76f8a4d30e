"""``/api/admin/llm/health``: each LLM provider's state, for admins (probes cached for ``SFA_LLM_HEALTH_TTL_S``)."""

from __future__ import annotations

from aiohttp import web

from sfa.web.auth import require_role
from sfa.web.envelope import data
from sfa.web.keys import CONFIG, LLM

routes = web.RouteTableDef()


@routes.get("/api/admin/llm/health")
@require_role("admin")
async def health(request: web.Request) -> web.Response:
    providers = await request.app[LLM].health()
    return data({"providers": providers, "fallback_order": list(request.app[CONFIG].llm_providers),
                 "configured": any(provider["configured"] for provider in providers)})
