"""What a foreign web page can make a logged-in browser do: open no socket (Origin checked, same origin by
default, an allow-list beside it) and write nothing through ``/api`` with the cookie alone (CSRF header)."""

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from sfa.web import make_app
from tests.pages import log_in, meta
from tests.serving import AppServer

FOREIGN = "https://evil.example"
ALLOWED = "https://app.example.com"


@pytest.fixture
def app(config, database):
    return make_app(config.replace(allowed_origins=frozenset({ALLOWED})), database)


@pytest.fixture
async def logged_in(browser, make_account):
    """A browser with a live session: its client and the page's CSRF token."""
    assert (await log_in(browser, await make_account())).status == 302
    return browser, meta(await (await browser.get("/")).text(), "csrf-token")


async def upgrade_status(client: TestClient, origin: str | None, **params: str) -> int:
    headers = {} if origin is None else {"Origin": origin}
    try:
        async with client.ws_connect("/socket/websocket", params={"vsn": "2.0.0", **params}, headers=headers):
            return 101
    except aiohttp.WSServerHandshakeError as error:
        return error.status


@pytest.mark.parametrize(("origin", "status"), [
    ("same", 101), (ALLOWED, 101), (ALLOWED.upper(), 101), (None, 101),
    (FOREIGN, 403), ("http://app.example.com", 403), ("null", 403), ("not a url", 403),
])
async def test_a_cookie_socket_opens_only_from_the_same_or_an_allowed_origin(logged_in, origin, status):
    browser, _ = logged_in
    if origin == "same":
        origin = f"http://{browser.host}:{browser.port}"

    assert await upgrade_status(browser, origin) == status


async def test_a_token_socket_from_a_foreign_page_is_refused_too(client, make_account):
    account = await make_account()

    assert await upgrade_status(client, FOREIGN, token=account.token) == 403
    assert await upgrade_status(client, None, token=account.token) == 101


async def test_a_long_poll_session_from_a_foreign_page_is_refused(logged_in):
    browser, _ = logged_in

    async def open_from(origin: str) -> int:
        response = await browser.get("/socket/longpoll", params={"vsn": "2.0.0"}, headers={"Origin": origin})
        return (await response.json())["status"]

    assert await open_from(FOREIGN) == 403
    assert await open_from(f"http://{browser.host}:{browser.port}") == 410


async def test_any_origin_when_the_allow_list_is_a_star(config, database, make_account):
    account = await make_account()
    async with TestClient(AppServer(make_app(config.replace(allowed_origins=frozenset({"*"})), database))) as client:
        assert await upgrade_status(client, FOREIGN, token=account.token) == 101


@pytest.mark.parametrize(("method", "path", "body", "status"), [
    ("POST", "/api/analysis/analyze", {}, 422),
    ("DELETE", "/api/jobs/999999999", None, 404),
    ("PATCH", "/api/tracks/999999999", {"title": "x"}, 404),
])
async def test_a_cookie_write_to_the_api_needs_the_csrf_header(logged_in, method, path, body, status):
    browser, token = logged_in

    refused = await browser.request(method, path, json=body)
    accepted = await browser.request(method, path, json=body, headers={"X-CSRF-Token": token})
    forged = await browser.request(method, path, json=body, headers={"X-CSRF-Token": token[:-2] + "xx"})

    assert (refused.status, await refused.json()) == (403, {
        "error": "invalid CSRF token: a write authenticated by the session cookie must send the page's "
                 "csrf-token in X-CSRF-Token", "code": "INVALID_CSRF_TOKEN"})
    assert forged.status == 403
    assert accepted.status == status


async def test_cookie_reads_and_token_writes_need_no_csrf_header(logged_in, client, make_account):
    browser, _ = logged_in
    account = await make_account()

    read = await browser.get("/api/tracks")
    write = await client.post("/api/analysis/analyze", json={}, headers=account.headers)

    assert read.status == 200
    assert write.status == 422
