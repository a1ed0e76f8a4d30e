"""The account pages in a real browser: headless Chromium, driven by playwright-core, against a live server."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from sfa.accounts.socket_tokens import socket_token_user_id
from sfa.web.keys import SOCKET_TOKEN_KEY
from tests.phoenix.conftest import node_client  # noqa: F401  (fixture)

pytestmark = pytest.mark.embedded_only

SCRIPT = Path(__file__).resolve().parent / "js" / "browser.mjs"
ROOT = Path(__file__).resolve().parents[2]


async def test_register_create_a_key_log_out_and_in_with_a_real_browser(app, client, node_client, chromium):  # noqa: F811
    process = await asyncio.create_subprocess_exec(
        node_client, str(SCRIPT), f"http://127.0.0.1:{client.server.port}", chromium, cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, err.decode()
    seen = {line["event"]: line for line in map(json.loads, out.decode().splitlines())}

    assert "browser.user@example.com (user)" in seen["registered"]["nav"]
    assert socket_token_user_id(app[SOCKET_TOKEN_KEY], seen["registered"]["socketToken"]) is not None
    key = seen["api_key"]["key"]
    assert key.startswith("sfa_")
    assert seen["reloaded"]["keyShownAgain"] is False
    assert "Log in" in seen["logged_out"]["nav"] and "browser.user" not in seen["logged_out"]["nav"]
    assert seen["refused"]["error"] == "invalid email or password"
    assert "browser.user@example.com" in seen["logged_in"]["nav"]
    response = await client.get("/api/admin/users", headers={"Authorization": f"Bearer {key}"})
    assert response.status == 403
