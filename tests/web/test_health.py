import asyncio

from aiohttp.test_utils import TestClient

from sfa.db import Database, EmbeddedPostgres
from sfa.web import make_app
from sfa.web.keys import ACTOR_TREE
from tests.serving import AppServer


async def test_health_is_ok_while_the_database_answers(client):
    response = await client.get("/health")

    assert response.status == 200
    assert await response.json() == {"status": "ok"}


async def test_health_is_degraded_while_the_database_is_down_and_recovers(tmp_path, config):
    server = EmbeddedPostgres(tmp_path / "pg", durable=False)
    server.start()
    database = await Database(server.url(), max_size=2).connect()
    try:
        async with TestClient(AppServer(make_app(config.replace(health_timeout_s=1), database))) as client:
            assert (await client.get("/health")).status == 200

            await asyncio.to_thread(server.stop)
            down = await client.get("/health")
            body = await down.json()
            assert down.status == 503
            assert body["status"] == "degraded"
            assert set(body) == {"status", "checks"}
            assert body["checks"]["database"] in ("unreachable (ConnectionRefusedError)",
                                                  "unreachable (ConnectionDoesNotExistError)",
                                                  "unreachable (FileNotFoundError)", "no answer within 1s")
            assert str(tmp_path) not in await down.text()

            await asyncio.to_thread(server.start)
            assert (await client.get("/health")).status == 200
    finally:
        await database.close()
        server.stop()


async def test_health_is_degraded_once_the_worker_tree_has_stopped(config, database, tree):
    app = make_app(config, database)
    app[ACTOR_TREE] = tree
    async with TestClient(AppServer(app)) as client:
        assert await (await client.get("/health")).json() == {"status": "ok"}

        await tree.root.stop()
        down = await client.get("/health")

        assert down.status == 503
        assert await down.json() == {"status": "degraded", "checks": {
            "workers": "the root supervisor has stopped (shutdown): no jobs run"}}
