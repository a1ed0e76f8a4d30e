"""Helpers for tests that act as a browser: a cookie-keeping client, the page's meta tags, CSRF-protected forms."""

from __future__ import annotations

import re

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from sfa.web.app import SESSION_COOKIE


def meta(html: str, name: str) -> str:
    return re.search(rf'<meta name="{name}" content="([^"]+)">', html)[1]


async def csrf(browser: TestClient, path: str = "/users/log_in") -> str:
    return meta(await (await browser.get(path)).text(), "csrf-token")


async def submit(browser: TestClient, path: str, fields: dict, *, method: str = "POST") -> ClientResponse:
    form = {"_csrf_token": await csrf(browser), **fields}
    return await browser.request(method, path, data=form, allow_redirects=False)


def session_cookie(browser: TestClient) -> str:
    return next(c.value for c in browser.session.cookie_jar if c.key == SESSION_COOKIE)


async def log_in(browser: TestClient, account, path: str = "/users/log_in") -> ClientResponse:
    return await submit(browser, path, {"user[email]": account.user.email, "user[password]": account.password})
