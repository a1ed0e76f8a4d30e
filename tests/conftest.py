"""Shared fixtures: a real PostgreSQL per backend, a fresh database per test session, a live app.

Every database test runs twice: on an embedded server started in a temp dir (the default a new user
gets) and on the PostgreSQL at 127.0.0.1:5432 when one answers there (skipped otherwise).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from aiohttp import CookieJar, web
from aiohttp.test_utils import TestClient

from sfa.accounts import User, create_api_token, create_user
from sfa.actors import ActorTree
from sfa.config import Config
from sfa.db import Database, EmbeddedPostgres, ensure_database, migrate
from sfa.db.database import drop_database, with_database
from sfa.web import make_app
from tests.actors.jobs import application_tree
from tests.fakes import serving
from tests.lalalai.fake_lalalai import FakeLalalai
from tests.serving import AppServer
from tests.spotify.fake_spotify import FakeSpotify

ROOT = Path(__file__).resolve().parents[1]
LOCAL_SERVER_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = ["embedded", "local"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """An ``embedded_only`` test runs on the embedded server, not again on the local one."""
    second = [item for item in items if item.get_closest_marker("embedded_only") is not None
              and getattr(item, "callspec", None) is not None and item.callspec.params.get("server_url") == "local"]
    if second:
        config.hook.pytest_deselected(items=second)
        dropped = set(second)
        items[:] = [item for item in items if item not in dropped]


@pytest.fixture(scope="session", autouse=True)
def checkout_left_as_found() -> Iterator[None]:
    """Nothing the suite starts may re-point ``.venv`` (a child ``run.py`` that lost ``SFA_VENV_CACHE`` would)
    or leave runtime state in the checkout."""
    venv = ROOT / ".venv"
    before = (os.readlink(venv) if venv.is_symlink() else None, (ROOT / "var").exists())
    yield
    assert (os.readlink(venv) if venv.is_symlink() else None, (ROOT / "var").exists()) == before


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's Chromium, which the page tests drive through playwright-core."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium)")
    return path


@pytest.fixture(scope="session")
def embedded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    server = EmbeddedPostgres(tmp_path_factory.mktemp("embedded") / "pg", durable=False)
    server.start()
    yield server
    server.stop()


def local_server_reachable() -> bool:
    async def probe() -> bool:
        try:
            conn = await asyncpg.connect(LOCAL_SERVER_URL, timeout=3)
        except (OSError, asyncpg.PostgresError, TimeoutError):
            return False
        await conn.close()
        return True

    return asyncio.run(probe())


@pytest.fixture(scope="session", params=BACKENDS)
def server_url(request: pytest.FixtureRequest) -> str:
    """A URL to the maintenance database of one real PostgreSQL server."""
    if request.param == "embedded":
        return request.getfixturevalue("embedded_server").url()
    if not local_server_reachable():
        pytest.skip(f"no PostgreSQL answers at {LOCAL_SERVER_URL}")
    return LOCAL_SERVER_URL


async def fresh_database(server_url: str) -> str:
    url = with_database(server_url, f"sfa_test_{uuid.uuid4().hex[:12]}")
    await ensure_database(url)
    return url


@pytest.fixture(scope="session")
async def database_url(server_url: str) -> AsyncIterator[str]:
    """The test session's database: created with a random name, migrated, dropped at the end."""
    url = await fresh_database(server_url)
    await migrate(url)
    yield url
    await drop_database(url)


@pytest.fixture
async def blank_database_url(server_url: str) -> AsyncIterator[str]:
    """An empty database of its own, for tests of the migrator."""
    url = await fresh_database(server_url)
    yield url
    await drop_database(url)


@pytest.fixture(scope="session")
async def database(database_url: str) -> AsyncIterator[Database]:
    db = await Database(database_url, max_size=5).connect()
    yield db
    await db.close()


@pytest.fixture(autouse=True)
async def no_rate_limit_hits_yet(request: pytest.FixtureRequest) -> None:
    """Rate limits count in the database, for every app on it as for every node of a cluster: each test that
    uses the database starts with nothing counted, as its own app used to."""
    if "database" in request.fixturenames:
        await request.getfixturevalue("database").pool.execute("DELETE FROM rate_limit_windows")


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Config:
    return Config.from_env({
        "SFA_VAR_DIR": str(tmp_path / "var"),
        "SFA_DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": database_url,
    })


@pytest.fixture
def app(config: Config, database: Database) -> web.Application:
    return make_app(config, database)


@pytest.fixture
async def client(app: web.Application) -> AsyncIterator[TestClient]:
    """A client of the app served on a real local socket."""
    async with TestClient(AppServer(app)) as test_client:
        yield test_client


@pytest.fixture
async def browser(app: web.Application) -> AsyncIterator[TestClient]:
    """A client of the app that keeps cookies like a browser does (for 127.0.0.1 too)."""
    async with TestClient(AppServer(app), cookie_jar=CookieJar(unsafe=True)) as test_client:
        yield test_client


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Account:
    """A real user in the test database with a live API token."""

    user: User
    token: str
    password: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
async def lalalai() -> AsyncIterator[FakeLalalai]:
    """The fake lalal.ai on a real local socket."""
    async with serving(FakeLalalai()) as fake:
        yield fake


@pytest.fixture
async def spotify() -> AsyncIterator[FakeSpotify]:
    """The fake Spotify (accounts service and Web API) on a real local socket."""
    async with serving(FakeSpotify()) as fake:
        yield fake


@pytest.fixture
def make_account(database: Database) -> Callable[..., Awaitable[Account]]:
    async def make(role: str = "user", *, status: str = "active") -> Account:
        password = f"pw-{uuid.uuid4().hex}"
        user = await create_user(database, f"{role}-{uuid.uuid4().hex[:10]}@example.com", password, role=role)
        if status != "active":
            await database.pool.execute("UPDATE users SET status = $2 WHERE id = $1", user.id, status)
        _, token = await create_api_token(database, user.id, "test")
        return Account(user, token, password)

    return make


@pytest.fixture
async def tree(tmp_path: Path) -> AsyncIterator[ActorTree]:
    """A real supervision tree with one worker per pool (real processes), stopped after the test."""
    started = await application_tree(Config.from_env({
        "SFA_VAR_DIR": str(tmp_path / "tree"), "SFA_LOG_LEVEL": "error", "SFA_WORKERS_DOWNLOAD": "1",
        "SFA_WORKERS_PROCESSING": "1", "SFA_WORKERS_ANALYSIS": "1"})).start()
    yield started
    await started.stop()

