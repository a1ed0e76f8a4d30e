from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient

from sfa.config import Config
from sfa.db import Database
from sfa.web import make_app
from tests.serving import AppServer


@pytest.fixture
async def aiohttp_client_factory(database: Database) -> AsyncIterator[Callable[[Config], Awaitable[TestClient]]]:
    """A client of an app built with a config of the test's choosing."""
    clients: list[TestClient] = []

    async def make(config: Config) -> TestClient:
        client = TestClient(AppServer(make_app(config, database)))
        await client.start_server()
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()
