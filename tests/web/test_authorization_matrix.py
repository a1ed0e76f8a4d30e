"""Every /api, /export and /files route against every kind of caller.

Each route the app serves there must have a rule in MATRIX (a new route without one fails here). A rule
says the lowest role it needs and, for routes about one object, which object the path names: that object
belongs to the `user` caller, so every other caller, admins included, gets 404, never 403 and never data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from sfa.accounts import at_least, revoke_api_token

PREFIXES = ("/api/", "/export/", "/files/")
CALLERS = ("anonymous", "bad_token", "revoked", "suspended", "user", "other_user", "pro", "admin")


@dataclass(frozen=True)
class Rule:
    minimum: str = "user"
    owned: str | None = None
    body: dict | None = None
    success: int = 200
    params: dict[str, str] = field(default_factory=dict)


MATRIX: dict[tuple[str, str], Rule] = {
    ("GET", "/api/admin/users"): Rule("admin"),
    ("PATCH", "/api/admin/users/{id}"): Rule("admin", body={"status": "active"}, params={"id": "user_id"}),
    # The app under test runs no supervision tree, so an admin gets 503; tests/actors cover the 200.
    ("GET", "/api/admin/supervisors"): Rule("admin", success=503),
}


def expected(rule: Rule, caller: str) -> int:
    if caller in ("anonymous", "bad_token", "revoked"):
        return 401
    if caller == "suspended":
        return 403
    role = {"user": "user", "other_user": "user", "pro": "pro", "admin": "admin"}[caller]
    if not at_least(role, rule.minimum):
        return 403
    if rule.owned is not None and caller != "user":
        return 404
    return rule.success


def served_routes(app) -> set[tuple[str, str]]:
    return {(route.method, route.resource.canonical) for route in app.router.routes()
            if route.method != "HEAD" and route.resource.canonical.startswith(PREFIXES)}


def test_every_route_has_a_rule(app):
    missing = served_routes(app) - set(MATRIX)
    assert not missing, f"add these routes to MATRIX: {sorted(missing)}"


@pytest.fixture
async def callers(database, make_account):
    accounts = {name: await make_account(role) for name, role in
                (("user", "user"), ("other_user", "user"), ("pro", "pro"), ("admin", "admin"),
                 ("revoked", "admin"))}
    accounts["suspended"] = await make_account("admin", status="suspended")
    token_id = await database.pool.fetchval("SELECT id FROM api_tokens WHERE user_id = $1",
                                            accounts["revoked"].user.id)
    await revoke_api_token(database, accounts["revoked"].user.id, token_id)
    headers = {name: account.headers for name, account in accounts.items()}
    headers["anonymous"] = {}
    headers["bad_token"] = {"Authorization": "Bearer sfa_" + "0" * 43}
    values = {"user_id": str(accounts["user"].user.id)}
    return headers, values


@pytest.mark.parametrize(("method", "path"), sorted(MATRIX))
async def test_each_caller_gets_the_expected_status(client, callers, method, path):
    headers, values = callers
    rule = MATRIX[method, path]
    concrete = path.format(**{name: values[source] for name, source in rule.params.items()})

    got = {}
    for caller in CALLERS:
        response = await client.request(method, concrete, json=rule.body, headers=headers[caller])
        got[caller] = response.status
        if response.status == 404:
            assert (await response.json())["code"] == "NOT_FOUND"

    assert got == {caller: expected(rule, caller) for caller in CALLERS}
