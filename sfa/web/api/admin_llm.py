"""``/api/admin/llm/health``: each LLM provider's state, for admins (probes cached for ``SFA_LLM_HEALTH_TTL_S``)."""

from __future__ import annotations

from aiohttp import web

from sfa.config import LLM_PROVIDERS
from sfa.web.auth import require_role
from sfa.web.envelope import data
from sfa.web.keys import CONFIG, LLM
from sfa.web.openapi import data_reply, operation
from sfa.web.openapi.schema import BOOLEAN, NUMBER, STRING, TIMESTAMP, array, component, enum, nullable, obj

routes = web.RouteTableDef()

PROVIDER_HEALTH = component("LLMProviderHealth", obj({
    "name": enum(LLM_PROVIDERS), "configured": BOOLEAN, "reachable": nullable(BOOLEAN), "model": STRING,
    "latency_ms": nullable(NUMBER), "last_error": nullable(STRING), "last_error_at": nullable(TIMESTAMP)}))
LLM_HEALTH = component("LLMHealth", obj({"providers": array(PROVIDER_HEALTH),
                                         "fallback_order": array(enum(LLM_PROVIDERS)), "configured": BOOLEAN}))


@routes.get("/api/admin/llm/health")
@operation("Each LLM provider: configured, reachable, model, probe latency, last error (admin)", tag="admin",
           replies=data_reply(LLM_HEALTH, "the providers in fallback order"))
@require_role("admin")
async def health(request: web.Request) -> web.Response:
    providers = await request.app[LLM].health()
    return data({"providers": providers, "fallback_order": list(request.app[CONFIG].llm_providers),
                 "configured": any(provider["configured"] for provider in providers)})
