"""A signed-in browser on a live app, and a LiveView client speaking the wire protocol (V2 JSON frames)
over ``/live/websocket``, as the ``phoenix_live_view`` client does."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from tests.conftest import Account
from tests.pages import log_in, meta

CONTAINER = re.compile(r'<div id="(phx-[^"]+)" data-phx-main data-phx-session="([^"]+)" data-phx-static="([^"]*)">')


@dataclass
class Page:
    url: str
    html: str
    id: str
    session: str
    static: str
    csrf: str


async def open_page(browser: TestClient, path: str) -> Page:
    response = await browser.get(path)
    html = await response.text()
    assert response.status == 200, html
    found = CONTAINER.search(html)
    assert found is not None, html
    return Page(str(browser.make_url(path)), html, found[1], found[2], found[3], meta(html, "csrf-token"))


@dataclass
class LiveClient:
    ws: aiohttp.ClientWebSocketResponse
    refs: itertools.count = field(default_factory=lambda: itertools.count(1))
    pushes: list[list[Any]] = field(default_factory=list)

    async def call(self, topic: str, event: str, payload: Any, join_ref: str | None = None) -> dict[str, Any]:
        """Send a push and return its reply's payload ``{"status", "response"}`` (pushes seen meanwhile are kept)."""
        ref = str(next(self.refs))
        await self.ws.send_str(json.dumps([join_ref or ref, ref, topic, event, payload]))
        while True:
            frame = json.loads((await asyncio.wait_for(self.ws.receive(), 10)).data)
            if frame[3] == "phx_reply" and frame[1] == ref:
                frame[4]["raw"] = frame
                return frame[4]
            self.pushes.append(frame)

    async def join(self, page: Page, **extra: Any) -> dict[str, Any]:
        payload = {"url": page.url, "params": {"_csrf_token": page.csrf, "_mounts": 0}, "session": page.session,
                   "static": page.static or None, **extra}
        reply = await self.call(f"lv:{page.id}", "phx_join", payload)
        self.join_ref = reply["raw"][0]
        return reply

    async def event(self, page: Page, event: str, value: Any, kind: str = "click") -> dict[str, Any]:
        return await self.call(f"lv:{page.id}", "event", {"type": kind, "event": event, "value": value},
                               self.join_ref)

    async def push(self, event: str, timeout: float = 10) -> list[Any]:
        """The next server push named ``event``."""
        for index, frame in enumerate(self.pushes):
            if frame[3] == event:
                return self.pushes.pop(index)
        while True:
            frame = json.loads((await asyncio.wait_for(self.ws.receive(), timeout)).data)
            if frame[3] == event:
                return frame
            self.pushes.append(frame)


async def connect(browser: TestClient, csrf: str) -> aiohttp.ClientWebSocketResponse:
    return await browser.session.ws_connect(browser.make_url("/live/websocket"),
                                            params={"_csrf_token": csrf, "vsn": "2.0.0"})


@asynccontextmanager
async def joined(browser: TestClient, path: str) -> AsyncIterator[tuple[Page, LiveClient]]:
    """The page at ``path``, opened in ``browser``, and a live client connected and joined to it."""
    page = await open_page(browser, path)
    ws = await connect(browser, page.csrf)
    try:
        client = LiveClient(ws)
        assert (await client.join(page))["status"] == "ok"
        yield page, client
    finally:
        await ws.close()


@pytest.fixture
async def account(make_account) -> Account:
    return await make_account()


@pytest.fixture
async def signed_in(browser: TestClient, account: Account) -> TestClient:
    assert (await log_in(browser, account)).status == 302
    return browser


@pytest.fixture
async def live(signed_in: TestClient) -> AsyncIterator[tuple[TestClient, Page, LiveClient]]:
    """The signed-in browser, its dashboard page and a live client connected for it."""
    page = await open_page(signed_in, "/")
    ws = await connect(signed_in, page.csrf)
    yield signed_in, page, LiveClient(ws)
    await ws.close()
