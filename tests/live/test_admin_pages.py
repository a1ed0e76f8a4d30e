"""The admin pages over the LiveView protocol: the live supervision tree shows a restart as it happens, a
user below admin gets the 404 page, and an admin's role change reaches the user's open page."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest
from aiohttp import web

from sfa.config import Config
from sfa.db import Database
from sfa.web import make_app
from sfa.web.keys import ACTOR_TREE
from tests.live.conftest import joined, open_page
from tests.pages import log_in

pytestmark = pytest.mark.embedded_only


@pytest.fixture
def app(config: Config, database: Database, tree) -> web.Application:
    served = make_app(config, database)
    served[ACTOR_TREE] = tree
    return served


def job_workers(node: dict) -> list[dict]:
    found = [node] if node.get("type") == "job_worker" else []
    for child in node.get("children") or []:
        found += job_workers(child)
    return found


def restarted(diff: dict) -> bool:
    """Whether a diff of the tree page (the view's holes at "2", the tree at "0", its rows at "1") sets some
    row's restarts cell (its sixth hole) to 1."""
    rows = diff.get("2", {}).get("0", {}).get("1", {}).get("k", {})
    return any(isinstance(row, dict) and row.get("5") == "1" for row in rows.values())


async def test_the_supervision_tree_page_shows_a_restart_as_it_happens(browser, make_account, tree):
    admin = await make_account("admin")
    assert (await log_in(browser, admin)).status == 302
    async with joined(browser, "/admin/tree") as (page, client):
        assert "analysis-1" in page.html
        [victim] = [w for w in job_workers(tree.snapshot()["tree"]) if w["name"] == "analysis-1"]
        os.kill(victim["pid"], signal.SIGKILL)
        diffs = []
        async with asyncio.timeout(15):
            while not any(restarted(diff) for diff in diffs):
                diffs.append((await client.push("diff"))[4])
        assert all("s" not in diff for diff in diffs)  # only changed holes, never the page again
        rendered = await open_page(browser, "/admin/tree")
        row = rendered.html[rendered.html.index(">analysis-1<"):][:400]
        assert '<td class="restarts">1</td>' in row, row


async def test_a_user_below_admin_gets_the_404_page(browser, make_account):
    user = await make_account("pro")
    assert (await log_in(browser, user)).status == 302
    response = await browser.get("/admin/jobs")
    assert response.status == 404 and "page not found" in await response.text()


async def test_the_users_page_finds_a_user_by_any_part_of_their_email(browser, make_account):
    admin, wanted, other = await make_account("admin"), await make_account(), await make_account()
    assert (await log_in(browser, admin)).status == 302
    async with joined(browser, "/admin") as (page, client):
        part = wanted.user.email.split("@")[0][-8:].upper()
        found = str(await client.event(page, "search", {"key": "x", "value": part}, kind="keyup"))
        literal = str(await client.event(page, "search", {"key": "x", "value": "%"}, kind="keyup"))

    assert wanted.user.email in found and other.user.email not in found and admin.user.email not in found
    assert "'kc': 0" in literal  # no row: the % is a literal character, and no email holds one
