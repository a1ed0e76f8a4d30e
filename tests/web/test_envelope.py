"""Every failure under /api answers in the contract's envelope, and every response carries X-Request-Id."""

import logging

import pytest
from aiohttp import web

from sfa.web.envelope import json_body


async def echo(request: web.Request) -> web.Response:
    return web.json_response({"data": await json_body(request)})


async def explode(request: web.Request) -> web.Response:
    raise RuntimeError("secret detail from deep inside")


@pytest.fixture
def app(app):
    """The real app plus two routes of the test's own: one that reads JSON, one with a bug."""
    app.router.add_post("/api/test/echo", echo)
    app.router.add_get("/api/test/explode", explode)
    app.router.add_get("/test/explode", explode)
    return app


async def test_unknown_api_route_is_a_json_404(client):
    response = await client.get("/api/no/such/route")

    assert response.status == 404
    assert response.content_type == "application/json"
    assert await response.json() == {"error": "not found", "code": "NOT_FOUND"}


async def test_wrong_method_is_a_json_405_with_allow(client):
    response = await client.delete("/api/test/echo")

    assert response.status == 405
    assert await response.json() == {"error": "method not allowed", "code": "METHOD_NOT_ALLOWED"}
    assert response.headers["Allow"] == "POST"


@pytest.mark.parametrize("body", ['{"title": ', "not json", '{"a": 1}}', "\xff"])
async def test_malformed_json_is_a_400(client, body):
    response = await client.post("/api/test/echo", data=body.encode("latin-1"),
                                 headers={"Content-Type": "application/json"})

    assert response.status == 400
    payload = await response.json()
    assert payload["code"] == "BAD_REQUEST"
    assert payload["error"].startswith("malformed JSON")


@pytest.mark.parametrize("body", ["[1, 2]", '"text"', "null", "3"])
async def test_json_that_is_not_an_object_is_a_400(client, body):
    response = await client.post("/api/test/echo", data=body, headers={"Content-Type": "application/json"})

    assert response.status == 400
    assert await response.json() == {"error": "expected a JSON object", "code": "BAD_REQUEST"}


@pytest.mark.parametrize(("body", "error"), [
    ('{"title": "a\\u0000b"}', "malformed JSON: text must not contain NUL characters or unpaired surrogates"),
    ('{"tags": ["\\ud800"]}', "malformed JSON: text must not contain NUL characters or unpaired surrogates"),
    ('{"\\u0000": 1}', "malformed JSON: text must not contain NUL characters or unpaired surrogates"),
    ('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}", "malformed JSON: nested too deeply"),
])
async def test_json_postgresql_cannot_store_or_python_cannot_nest_is_a_400(client, body, error):
    response = await client.post("/api/test/echo", data=body, headers={"Content-Type": "application/json"})

    assert response.status == 400
    assert await response.json() == {"error": error, "code": "BAD_REQUEST"}


async def test_a_query_postgresql_cannot_store_is_a_400(client, make_account):
    account = await make_account()

    response = await client.get("/api/tracks?q=a%00b", headers=account.headers)

    assert response.status == 400
    assert (await response.json())["error"] == "q: text must not contain NUL characters or unpaired surrogates"


async def test_a_json_object_passes_through(client):
    response = await client.post("/api/test/echo", json={"title": "ok"})

    assert response.status == 200
    assert await response.json() == {"data": {"title": "ok"}}


async def test_unhandled_exception_is_a_bare_500_and_the_traceback_is_logged(client, caplog):
    with caplog.at_level(logging.ERROR):
        response = await client.get("/api/test/explode")

    body = await response.json()
    rid = response.headers["X-Request-Id"]
    assert response.status == 500
    assert body == {"error": "internal server error", "code": "INTERNAL_ERROR", "request_id": rid}
    assert "secret detail" not in await response.text()
    [record] = [r for r in caplog.records if r.exc_info]
    assert record.request_id == rid
    assert "secret detail from deep inside" in caplog.text
    assert "Traceback" in caplog.text


async def test_unhandled_exception_outside_api_still_hides_the_traceback(client):
    response = await client.get("/test/explode")

    assert response.status == 500
    assert "secret detail" not in await response.text()
    assert response.headers["X-Request-Id"] in await response.text()


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/health"), ("GET", "/api/nope"), ("DELETE", "/api/test/echo"), ("GET", "/api/test/explode"),
    ("GET", "/nope"), ("POST", "/api/test/echo"),
])
async def test_every_response_has_a_request_id(client, method, path):
    response = await client.request(method, path, data=b"{")

    assert len(response.headers["X-Request-Id"]) == 32


async def test_a_sane_incoming_request_id_is_kept_and_a_strange_one_replaced(client):
    kept = await client.get("/health", headers={"X-Request-Id": "edge-proxy-1234abcd"})
    replaced = await client.get("/health", headers={"X-Request-Id": "bad id\twith spaces"})

    assert kept.headers["X-Request-Id"] == "edge-proxy-1234abcd"
    assert replaced.headers["X-Request-Id"] != "bad id\twith spaces"
