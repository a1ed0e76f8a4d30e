"""``/api/admin/users``: list users, change a user's role or status (admin or higher)."""

from __future__ import annotations

from aiohttp import web

from sfa.accounts.admin import Forbidden as RoleTooLow
from sfa.accounts.admin import Refused, change_user
from sfa.accounts.roles import STATUSES, canonical_role
from sfa.accounts.users import list_users
from sfa.web.auth import Forbidden, current_user, require_role
from sfa.web.envelope import data, json_body, page_meta, pagination, path_id
from sfa.web.errors import NotFound, ValidationFailed
from sfa.web.keys import DATABASE, PUBSUB, TOKEN_CACHE
from sfa.web.openapi import PAGINATION, data_reply, operation, page_reply
from sfa.web.openapi.components import USER, USER_CHANGES
from sfa.web.user_events import announce_user_change

routes = web.RouteTableDef()

CHANGEABLE = ("role", "status")


@routes.get("/api/admin/users")
@operation("Every user with role and status (admin)", tag="admin", query=PAGINATION,
           replies=page_reply(USER, "one page of users"))
@require_role("admin")
async def index(request: web.Request) -> web.Response:
    page, page_size = pagination(request)
    found, total = await list_users(request.app[DATABASE], offset=(page - 1) * page_size, limit=page_size)
    return data([user.to_json() for user in found], meta=page_meta(page, page_size, total))


def _changes(body: dict) -> dict[str, str]:
    errors: dict[str, list[str]] = {}
    for field in sorted(set(body) - set(CHANGEABLE)):
        errors[field] = ["is not a field that can be changed"]
    changes = {}
    if "role" in body:
        role = canonical_role(body["role"]) if isinstance(body["role"], str) else None
        if role is None:
            errors["role"] = ["must be one of user, pro, enterprise, admin, super_admin"]
        changes["role"] = role
    if "status" in body:
        if body["status"] not in STATUSES:
            errors["status"] = ["must be active or suspended"]
        changes["status"] = body["status"]
    if not body:
        errors["role"] = ["or status must be given"]
    if errors:
        raise ValidationFailed(errors)
    return changes


@routes.patch("/api/admin/users/{id}")
@operation("Change a user's role or status (admin)", tag="admin", body=USER_CHANGES,
           replies=data_reply(USER, "the changed user"))
@require_role("admin")
async def update(request: web.Request) -> web.Response:
    actor = await current_user(request)
    target_id = path_id(request)
    changes = _changes(await json_body(request))
    try:
        user = await change_user(request.app[DATABASE], actor, target_id, changes)
    except RoleTooLow as exc:
        raise Forbidden(str(exc)) from None
    except Refused as exc:
        raise ValidationFailed({exc.field: [str(exc)]}) from None
    if user is None:
        raise NotFound("user not found")
    request.app[TOKEN_CACHE].forget_user(user.id)
    await announce_user_change(request.app[PUBSUB], user)
    return data(user.to_json())
