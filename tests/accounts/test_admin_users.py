"""/api/admin/users: listing, role and status changes, the hierarchy's rules, and the audit trail."""

import json

import pytest


async def patch(client, actor, user_id, body):
    return await client.patch(f"/api/admin/users/{user_id}", json=body, headers=actor.headers)


async def test_lists_users_paginated(client, make_account):
    admin = await make_account("admin")
    for _ in range(3):
        await make_account()

    response = await client.get("/api/admin/users?page=2&page_size=2", headers=admin.headers)
    body = await response.json()

    assert response.status == 200
    assert len(body["data"]) == 2
    assert body["meta"]["page"] == 2 and body["meta"]["page_size"] == 2
    assert body["meta"]["total_count"] >= 4
    assert body["meta"]["total_pages"] == -(-body["meta"]["total_count"] // 2)
    assert set(body["data"][0]) == {"id", "email", "role", "status", "inserted_at"}


@pytest.mark.parametrize("query", ["page=0", "page=x", "page_size=101", "page_size=0"])
async def test_bad_pagination_is_a_400(client, make_account, query):
    admin = await make_account("admin")
    response = await client.get(f"/api/admin/users?{query}", headers=admin.headers)

    assert response.status == 400
    assert (await response.json())["code"] == "BAD_REQUEST"


async def test_an_admin_changes_role_and_status_and_it_is_audited(client, database, make_account):
    admin, user = await make_account("admin"), await make_account()

    response = await patch(client, admin, user.user.id, {"role": "pro", "status": "suspended"})

    assert response.status == 200
    assert (await response.json())["data"] | {"inserted_at": None} == {
        "id": user.user.id, "email": user.user.email, "role": "pro", "status": "suspended", "inserted_at": None}
    row = await database.pool.fetchrow("SELECT * FROM audit_log WHERE target_id = $1", str(user.user.id))
    assert row["actor_id"] == admin.user.id and row["action"] == "user.update"
    assert json.loads(row["changes"]) == {"before": {"role": "user", "status": "active"},
                                          "after": {"role": "pro", "status": "suspended"}}
    assert (await client.get("/api/admin/users", headers=user.headers)).status == 403


async def test_platform_admin_is_the_admin_role(client, make_account):
    admin, user = await make_account("admin"), await make_account()

    response = await patch(client, admin, user.user.id, {"role": "platform_admin"})

    assert (await response.json())["data"]["role"] == "admin"


@pytest.mark.parametrize(("body", "details"), [
    ({"role": "emperor"}, {"role": ["must be one of user, pro, enterprise, admin, super_admin"]}),
    ({"role": 3}, {"role": ["must be one of user, pro, enterprise, admin, super_admin"]}),
    ({"status": "asleep"}, {"status": ["must be active or suspended"]}),
    ({"email": "x@y.z"}, {"email": ["is not a field that can be changed"]}),
    ({}, {"role": ["or status must be given"]}),
])
async def test_bad_values_are_422_with_details(client, make_account, body, details):
    admin, user = await make_account("admin"), await make_account()

    response = await patch(client, admin, user.user.id, body)

    assert response.status == 422
    assert await response.json() == {"error": "validation failed", "code": "VALIDATION_ERROR", "details": details}


@pytest.mark.parametrize(("actor_role", "target_role", "change"), [
    ("admin", "user", {"role": "super_admin"}),
    ("admin", "super_admin", {"status": "suspended"}),
    ("admin", "super_admin", {"role": "user"}),
])
async def test_nobody_grants_above_their_own_role_or_touches_a_higher_one(client, make_account, actor_role,
                                                                          target_role, change):
    actor, target = await make_account(actor_role), await make_account(target_role)

    response = await patch(client, actor, target.user.id, change)

    assert response.status == 403
    assert (await response.json())["code"] == "FORBIDDEN"


async def test_the_last_super_admin_cannot_be_demoted_or_suspended(client, database, make_account):
    await database.pool.execute("UPDATE users SET role = 'admin' WHERE role = 'super_admin'")
    only = await make_account("super_admin")

    for change, field in (({"role": "admin"}, "role"), ({"status": "suspended"}, "status")):
        response = await patch(client, only, only.user.id, change)
        assert response.status == 422
        assert (await response.json())["details"] == {field: ["the last super_admin cannot be demoted or suspended"]}

    second = await make_account("super_admin")
    assert (await patch(client, second, only.user.id, {"role": "admin"})).status == 200


async def test_unknown_user_is_404(client, make_account):
    admin = await make_account("admin")

    for user_id in ("999999999", "abc", "99999999999999999999999"):
        response = await client.patch(f"/api/admin/users/{user_id}", json={"role": "pro"}, headers=admin.headers)
        assert response.status == 404
        assert (await response.json())["code"] == "NOT_FOUND"


async def test_suspension_ends_the_users_browser_sessions(client, database, make_account):
    admin, user = await make_account("admin"), await make_account()
    await database.pool.execute("INSERT INTO user_sessions (token_hash, user_id) VALUES ('\\x00', $1)", user.user.id)

    await patch(client, admin, user.user.id, {"status": "suspended"})

    assert await database.pool.fetchval("SELECT count(*) FROM user_sessions WHERE user_id = $1", user.user.id) == 0
