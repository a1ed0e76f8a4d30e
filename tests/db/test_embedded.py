import asyncio

import asyncpg

from sfa.db import EmbeddedPostgres
from tests.processes import postgres_processes


async def select_one(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval("SELECT 1")
    finally:
        await conn.close()


def test_start_creates_a_cluster_that_answers_and_stop_leaves_no_process(tmp_path):
    server = EmbeddedPostgres(tmp_path / "pg", durable=False)

    assert server.start() is True
    assert (tmp_path / "pg" / "PG_VERSION").exists()
    assert asyncio.run(select_one(server.url())) == 1

    server.stop()
    assert not server.running
    assert postgres_processes(tmp_path / "pg") == []


def test_a_second_start_reuses_the_cluster(tmp_path):
    first = EmbeddedPostgres(tmp_path / "pg", durable=False)
    first.start()
    marker = (tmp_path / "pg" / "PG_VERSION").stat().st_mtime_ns
    first.stop()

    again = EmbeddedPostgres(tmp_path / "pg", durable=False)
    assert again.start() is True
    assert (tmp_path / "pg" / "PG_VERSION").stat().st_mtime_ns == marker
    again.stop()


def test_a_second_process_attaches_and_does_not_stop_the_owners_server(tmp_path):
    owner = EmbeddedPostgres(tmp_path / "pg", durable=False)
    owner.start()
    guest = EmbeddedPostgres(tmp_path / "pg", durable=False)

    assert guest.start() is False
    guest.stop()
    assert owner.running
    assert asyncio.run(select_one(guest.url())) == 1

    owner.stop()
    assert postgres_processes(tmp_path / "pg") == []
