"""Browser flows over real HTTP with a cookie jar: register, log in and out, settings, API keys."""

import re

import pytest
from aiohttp import WSServerHandshakeError
from aiohttp.test_utils import TestClient

from sfa.accounts.socket_tokens import mint_socket_token, socket_token_user_id
from sfa.web.app import SESSION_COOKIE
from sfa.web.keys import SOCKET_TOKEN_KEY
from tests.pages import log_in, meta, session_cookie, submit
from tests.serving import AppServer


async def test_register_logs_in_and_the_home_page_carries_a_socket_token(browser, app):
    response = await submit(browser, "/users/register",
                            {"user[email]": "new.user@example.com", "user[password]": "a long password 1"})
    assert response.status == 302 and response.headers["Location"] == "/"

    home = await (await browser.get("/")).text()

    assert "new.user@example.com (user)" in home
    assert socket_token_user_id(app[SOCKET_TOKEN_KEY], meta(home, "socket-token")) is not None
    settings = await (await browser.get("/users/settings")).text()
    assert "No API keys yet." in settings and "<th>token</th>" not in settings


@pytest.mark.parametrize(("email", "password", "message"), [
    ("not-an-email", "a long password 1", "email must have the @ sign and no spaces"),
    ("ok@example.com", "short", "password should be at least 12 characters"),
])
async def test_register_rejects_bad_input_with_the_reason(browser, email, password, message):
    response = await submit(browser, "/users/register", {"user[email]": email, "user[password]": password})

    assert response.status == 422
    assert message in await response.text()


async def test_register_refuses_a_taken_email_whatever_its_case(browser, make_account):
    account = await make_account()

    response = await submit(browser, "/users/register",
                            {"user[email]": account.user.email.upper(), "user[password]": "a long password 1"})

    assert response.status == 422
    assert "email has already been taken" in await response.text()


@pytest.mark.parametrize("path", ["/users/log_in", "/users/log-in"])
async def test_log_in_rotates_the_session_and_log_out_ends_it_everywhere(browser, app, make_account, path):
    account = await make_account()
    await browser.get("/")
    anonymous_cookie = session_cookie(browser)

    response = await log_in(browser, account, path)
    assert response.status == 302
    logged_in_cookie = session_cookie(browser)
    assert logged_in_cookie != anonymous_cookie
    assert account.user.email in await (await browser.get("/")).text()

    page = await (await browser.get("/")).text()
    out = await browser.delete("/users/log-out", headers={"X-CSRF-Token": meta(page, "csrf-token")},
                               allow_redirects=False)
    assert out.status == 302
    assert account.user.email not in await (await browser.get("/")).text()

    async with TestClient(AppServer(app)) as replay:
        stale = await replay.get("/", headers={"Cookie": f"{SESSION_COOKIE}={logged_in_cookie}"})
        assert account.user.email not in await stale.text()


async def test_wrong_password_and_suspended_account_do_not_log_in(browser, make_account):
    account, suspended = await make_account(), await make_account(status="suspended")

    wrong = await submit(browser, "/users/log_in", {"user[email]": account.user.email, "user[password]": "nope"})
    refused = await log_in(browser, suspended)

    assert wrong.status == 401 and "invalid email or password" in await wrong.text()
    assert refused.status == 403 and "account suspended" in await refused.text()


@pytest.mark.parametrize("path", ["/users/log_in", "/users/register", "/users/log-out"])
async def test_forms_without_the_csrf_token_are_refused(browser, path):
    await browser.get("/")

    response = await browser.post(path, data={"user[email]": "a@b.c", "user[password]": "x" * 12},
                                  allow_redirects=False)

    assert response.status == 403
    assert "invalid CSRF token" in await response.text()


async def test_settings_need_a_session(browser):
    response = await browser.get("/users/settings", allow_redirects=False)

    assert response.status == 302 and response.headers["Location"] == "/users/log_in"


async def test_an_api_key_is_shown_once_works_and_can_be_revoked(browser, client, make_account):
    account = await make_account()
    await log_in(browser, account)

    created = await submit(browser, "/users/settings/api-keys", {"name": "laptop"})
    assert created.status == 302
    page = await (await browser.get("/users/settings")).text()
    secret = re.search(r'<code id="new-api-key">([^<]+)</code>', page)[1]
    assert 'id="new-api-key"' not in await (await browser.get("/users/settings")).text()
    bearer = {"Authorization": f"Bearer {secret}"}
    assert (await client.get("/api/admin/users", headers=bearer)).status == 403

    key_id = re.search(r'action="/users/settings/api-keys/(\d+)"', page)[1]
    revoked = await submit(browser, f"/users/settings/api-keys/{key_id}", {"_method": "delete"})
    assert revoked.status == 302
    assert (await client.get("/api/admin/users", headers=bearer)).status == 401


async def test_revoking_someone_elses_api_key_is_404(browser, database, make_account):
    owner, intruder = await make_account(), await make_account()
    token_id = await database.pool.fetchval("SELECT id FROM api_tokens WHERE user_id = $1", owner.user.id)
    await log_in(browser, intruder)

    response = await submit(browser, f"/users/settings/api-keys/{token_id}", {})

    assert response.status == 404
    assert await database.pool.fetchval("SELECT revoked_at FROM api_tokens WHERE id = $1", token_id) is None


async def test_changing_the_password_needs_the_current_one_and_ends_other_sessions(browser, app, make_account):
    account = await make_account()
    await log_in(browser, account)
    old_cookie = session_cookie(browser)

    wrong = await submit(browser, "/users/settings", {"current_password": "nope",
                                                      "user[password]": "a brand new password"}, method="PUT")
    assert wrong.status == 422 and "current_password is not valid" in await wrong.text()

    changed = await submit(browser, "/users/settings", {"current_password": account.password,
                                                        "user[password]": "a brand new password"}, method="PUT")
    assert changed.status == 302
    assert account.user.email in await (await browser.get("/")).text()
    async with TestClient(AppServer(app)) as other_browser:
        stale = await other_browser.get("/", headers={"Cookie": f"{SESSION_COOKIE}={old_cookie}"})
        assert account.user.email not in await stale.text()


async def test_the_pages_socket_token_opens_a_channel_socket_for_that_user_only(browser, app, make_account):
    account, other = await make_account(), await make_account()
    await log_in(browser, account)
    token = meta(await (await browser.get("/")).text(), "socket-token")

    ws = await browser.ws_connect(f"/socket/websocket?vsn=2.0.0&token={token}", headers={"Cookie": ""})
    await ws.send_str(f'["1","1","user:{account.user.id}","phx_join",{{}}]')
    await ws.send_str(f'["2","2","user:{other.user.id}","phx_join",{{}}]')
    replies = {frame[2]: frame[4] for frame in [await ws.receive_json(timeout=5), await ws.receive_json(timeout=5)]}
    await ws.close()

    assert replies[f"user:{account.user.id}"] == {"status": "ok", "response": {}}
    assert replies[f"user:{other.user.id}"] == {"status": "error", "response": {"reason": "unauthorized"}}


@pytest.mark.parametrize("forge", ["expired", "other_key", "garbage"])
async def test_a_bad_socket_token_refuses_the_upgrade(client, app, make_account, forge):
    account = await make_account()
    token = {"expired": mint_socket_token(app[SOCKET_TOKEN_KEY], account.user.id, ttl_s=-5),
             "other_key": mint_socket_token(b"another key" * 3, account.user.id, ttl_s=60),
             "garbage": "not-a-token"}[forge]

    with pytest.raises(WSServerHandshakeError) as refused:
        await client.ws_connect(f"/socket/websocket?vsn=2.0.0&token={token}")

    assert refused.value.status == 403


async def test_the_session_cookie_alone_opens_a_channel_socket(browser, make_account):
    account = await make_account()
    with pytest.raises(WSServerHandshakeError):
        await browser.ws_connect("/socket/websocket?vsn=2.0.0")
    await log_in(browser, account)

    ws = await browser.ws_connect("/socket/websocket?vsn=2.0.0")
    await ws.send_str(f'["1","1","user:{account.user.id}","phx_join",{{}}]')
    reply = await ws.receive_json(timeout=5)
    await ws.close()

    assert reply[4] == {"status": "ok", "response": {}}
