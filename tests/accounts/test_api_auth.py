"""Bearer tokens on /api: who gets in, who gets 401 or 403, and what is stored."""

import asyncio

import pytest

from sfa.accounts import revoke_api_token
from sfa.accounts.socket_tokens import mint_socket_token, socket_token_user_id
from sfa.web.keys import TOKEN_CACHE

ROUTE = "/api/admin/users"


@pytest.mark.parametrize(("headers", "message"), [
    ({}, "authentication required"),
    ({"Authorization": "Basic dXNlcjpwYXNz"}, "malformed Authorization header: expected 'Bearer <token>'"),
    ({"Authorization": "Bearer"}, "malformed Authorization header: expected 'Bearer <token>'"),
    ({"Authorization": "Bearer sfa_" + "x" * 43}, "invalid or revoked API token"),
    ({"Authorization": "Bearer ' OR 1=1 --"}, "invalid or revoked API token"),
])
async def test_missing_malformed_or_unknown_credentials_are_401(client, headers, message):
    response = await client.get(ROUTE, headers=headers)

    assert response.status == 401
    assert await response.json() == {"error": message, "code": "UNAUTHORIZED"}


async def test_a_revoked_token_is_401(client, database, make_account):
    admin = await make_account("admin")
    assert (await client.get(ROUTE, headers=admin.headers)).status == 200
    [token_id] = [row["id"] for row in await database.pool.fetch(
        "SELECT id FROM api_tokens WHERE user_id = $1", admin.user.id)]

    assert await revoke_api_token(database, admin.user.id, token_id)
    # The server remembered the token; the revocation's NOTIFY, not an expiry, is what it waits for here.
    deadline = asyncio.get_running_loop().time() + 3
    while (response := await client.get(ROUTE, headers=admin.headers)).status == 200:
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.02)

    assert response.status == 401
    assert (await response.json())["error"] == "invalid or revoked API token"


async def test_a_suspended_users_token_is_403(client, make_account):
    suspended = await make_account("admin", status="suspended")

    response = await client.get(ROUTE, headers=suspended.headers)

    assert response.status == 403
    assert await response.json() == {"error": "account suspended", "code": "FORBIDDEN"}


async def test_a_token_acts_with_its_owners_role(client, make_account):
    assert (await client.get(ROUTE, headers=(await make_account("pro")).headers)).status == 403
    assert (await client.get(ROUTE, headers=(await make_account("admin")).headers)).status == 200


async def test_tokens_and_passwords_are_stored_hashed(database, make_account):
    account = await make_account()
    row = await database.pool.fetchrow(
        "SELECT t.token_hash, t.prefix, u.hashed_password FROM api_tokens t JOIN users u ON u.id = t.user_id "
        "WHERE u.id = $1", account.user.id)

    assert account.token.encode() not in row["token_hash"]
    assert len(row["token_hash"]) == 32
    assert account.token.startswith(row["prefix"]) and len(row["prefix"]) < len(account.token) // 2
    assert row["hashed_password"].startswith("$argon2id$")
    assert account.password not in row["hashed_password"]


async def test_revoking_someone_elses_token_does_nothing(database, make_account):
    owner, other = await make_account(), await make_account()
    token_id = await database.pool.fetchval("SELECT id FROM api_tokens WHERE user_id = $1", owner.user.id)

    assert not await revoke_api_token(database, other.user.id, token_id)
    assert await database.pool.fetchval("SELECT revoked_at FROM api_tokens WHERE id = $1", token_id) is None


def test_socket_tokens_are_bound_to_a_user_and_expire():
    key, other_key = b"k" * 32, b"o" * 32
    token = mint_socket_token(key, 42, ttl_s=60)

    assert socket_token_user_id(key, token) == 42
    assert socket_token_user_id(other_key, token) is None
    assert socket_token_user_id(key, token[:-2] + "xx") is None
    assert socket_token_user_id(key, mint_socket_token(key, 42, ttl_s=-1)) is None
    assert socket_token_user_id(key, "not.a.token") is None


async def test_a_tokens_last_use_is_recorded_at_most_once_a_minute(client, database, make_account):
    admin = await make_account("admin")
    last_used = "SELECT last_used_at FROM api_tokens WHERE user_id = $1"
    assert await database.pool.fetchval(last_used, admin.user.id) is None

    await client.get("/api/admin/users", headers=admin.headers)
    first = await database.pool.fetchval(last_used, admin.user.id)
    await client.get("/api/admin/users", headers=admin.headers)
    assert first is not None and await database.pool.fetchval(last_used, admin.user.id) == first

    await database.pool.execute("UPDATE api_tokens SET last_used_at = now() - interval '2 minutes' "
                                "WHERE user_id = $1", admin.user.id)
    # Written when the token is looked up, that is once the process's memory of it (SFA_TOKEN_CACHE_S) is gone.
    client.app[TOKEN_CACHE].forget_user(admin.user.id)
    await client.get("/api/admin/users", headers=admin.headers)
    assert await database.pool.fetchval(last_used, admin.user.id) > first
