"""A live server with the product's channels plus :class:`ProbeChannel`, and the real ``phoenix`` JS
client driven from Node (installed from package.json on first use)."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from sfa.config import Config
from sfa.db import Database
from sfa.web import make_app
from sfa.web.keys import PHOENIX
from tests.conftest import Account
from tests.phoenix.channels import LoudChannel, ProbeChannel, UnbuildableChannel
from tests.phoenix.js_client import JsClient
from tests.serving import AppServer

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def node_client() -> str:
    """The node binary, with package.json's packages installed from the lock file (offline when cached)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are needed to run the real phoenix JS client")
    wanted = json.loads((ROOT / "package.json").read_text())["devDependencies"]
    if not all((ROOT / "node_modules" / name).is_dir() for name in wanted):
        result = subprocess.run([npm, "ci", "--prefer-offline", "--no-audit", "--no-fund"], cwd=ROOT,
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, f"npm ci failed:\n{result.stdout}\n{result.stderr}"
    return node


@pytest.fixture
def phoenix_config(config: Config) -> Config:
    return config.replace(socket_idle_timeout_s=5.0, socket_outbox_max=50, longpoll_window_s=1.0)


@pytest.fixture
def phoenix_app(phoenix_config: Config, database: Database) -> web.Application:
    app = make_app(phoenix_config, database)
    app[PHOENIX].router.add("test:*", ProbeChannel)
    app[PHOENIX].router.add("broken:*", UnbuildableChannel)
    app[PHOENIX].router.add("loud:*", LoudChannel)
    return app


@pytest.fixture
async def server(phoenix_app: web.Application) -> AsyncIterator[TestServer]:
    async with AppServer(phoenix_app) as test_server:
        yield test_server


@pytest.fixture
async def other_node(phoenix_config: Config, database_url: str) -> AsyncIterator[TestServer]:
    """A second app with its own pool and PubSub, as a second server on the same database would have."""
    database = await Database(database_url, max_size=2).connect()
    async with AppServer(make_app(phoenix_config, database)) as test_server:
        yield test_server
    await database.close()


@pytest.fixture
async def http(server: TestServer) -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP client of the live server; paths are relative to it."""
    async with aiohttp.ClientSession(base_url=server.make_url("/")) as session:
        yield session


@pytest.fixture
async def owner(make_account: Callable[..., Awaitable[Account]]) -> Account:
    return await make_account()


@pytest.fixture
async def job_id(database: Database, owner: Account) -> int:
    """A job of ``owner``'s, so that they may join ``jobs:<job_id>``."""
    return await database.pool.fetchval(
        "INSERT INTO jobs (user_id, kind, queue) VALUES ($1, 'analysis', 'analysis') RETURNING id", owner.user.id)


@pytest.fixture
async def js(node_client: str) -> AsyncIterator[Callable[[], Awaitable[JsClient]]]:
    """Start phoenix JS clients: ``client = await js()``; each is stopped at the end of the test."""
    clients: list[JsClient] = []

    async def start() -> JsClient:
        client = await JsClient.start(node_client)
        clients.append(client)
        return client

    yield start
    for client in clients:
        await client.stop()
