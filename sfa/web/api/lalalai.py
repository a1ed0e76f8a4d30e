"""``/api/lalalai``: the server's lalal.ai account: minutes left, cancelling tasks (``pro`` or higher), and
cancelling every task of the account (``admin``: the license is the server's, shared by all its users)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from sfa.integrations.lalalai import LalalaiClient, LalalaiError
from sfa.web.auth import require_role
from sfa.web.envelope import data, json_body
from sfa.web.errors import APIError, ValidationFailed
from sfa.web.keys import CONFIG
from sfa.web.openapi import data_reply, operation
from sfa.web.openapi.schema import ANY, NUMBER, array, obj, string

routes = web.RouteTableDef()

MAX_TASKS = 200


def _client(request: web.Request) -> LalalaiClient:
    config = request.app[CONFIG]
    if config.lalalai_key is None:
        raise APIError("lalal.ai is not configured on this server (SFA_LALALAI_KEY is unset)", status=503,
                       code="LALALAI_NOT_CONFIGURED")
    return LalalaiClient(config.lalalai_url, config.lalalai_key)


async def _call(function: Any, *args: Any) -> Any:
    try:
        return await asyncio.to_thread(function, *args)
    except LalalaiError as exc:
        raise APIError(str(exc), status=502, code="LALALAI_ERROR") from None


@routes.get("/api/lalalai/quota")
@operation("Minutes left on the server's lalal.ai license (pro)", tag="lalalai", errors=(502, 503),
           replies=data_reply(obj({"minutes_left": NUMBER}), "the minutes left"))
@require_role("pro")
async def quota(request: web.Request) -> web.Response:
    client = _client(request)
    return data({"minutes_left": await _call(client.minutes_left)})


@routes.post("/api/lalalai/cancel")
@operation("Cancel lalal.ai tasks (pro)", tag="lalalai", errors=(502, 503), body=obj(
    {"task_ids": array(string(1, 100), minItems=1, maxItems=MAX_TASKS)}, closed=False),
           replies=data_reply(obj({"result": ANY}), "lalal.ai's answer"))
@require_role("pro")
async def cancel(request: web.Request) -> web.Response:
    client = _client(request)
    task_ids = (await json_body(request)).get("task_ids")
    if not isinstance(task_ids, list) or not 0 < len(task_ids) <= MAX_TASKS \
            or not all(isinstance(task, str) and 0 < len(task) <= 100 for task in task_ids):
        raise ValidationFailed({"task_ids": [f"must be a list of 1 to {MAX_TASKS} lalal.ai task ids"]})
    return data({"result": await _call(client.cancel, task_ids)})


@routes.post("/api/lalalai/cancel-all")
@operation("Cancel every task of the server's lalal.ai license (admin)", tag="lalalai", errors=(502, 503),
           replies=data_reply(obj({"result": ANY}), "lalal.ai's answer"))
@require_role("admin")
async def cancel_all(request: web.Request) -> web.Response:
    client = _client(request)
    return data({"result": await _call(client.cancel_all)})
