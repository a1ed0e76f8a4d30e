"""Fixtures of the web tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient

from sfa.config import Config
from sfa.db import Database
from sfa.web import make_app
from tests.serving import AppServer


@pytest.fixture
async def other_node(config: Config, database_url: str) -> AsyncIterator[TestClient]:
    """A client of a second app on the same database, with a pool and a PubSub of its own: another node."""
    database = await Database(database_url, max_size=2).connect()
    async with TestClient(AppServer(make_app(config, database))) as test_client:
        yield test_client
    await database.close()
