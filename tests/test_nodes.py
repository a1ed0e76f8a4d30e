"""Cluster membership: every live node's marker must be in a starting node's SFA_DATA_DIR."""

from __future__ import annotations

import pytest

from sfa.nodes import MARKERS, ClusterNode, DataDirNotShared


@pytest.fixture(autouse=True)
async def no_other_nodes(database) -> None:
    await database.pool.execute("DELETE FROM cluster_nodes")


def member(database, data_dir, name: str) -> ClusterNode:
    return ClusterNode(database, data_dir, name, role="worker", queues=["download"], lease_s=30)


async def test_nodes_sharing_the_data_dir_join_and_leave_without_a_trace(database, tmp_path):
    first = await member(database, tmp_path / "shared", "first").join()
    second = await member(database, tmp_path / "shared", "second").join()
    assert await database.pool.fetchval("SELECT count(*) FROM cluster_nodes") == 2

    await second.leave()
    await first.leave()

    assert await database.pool.fetchval("SELECT count(*) FROM cluster_nodes") == 0
    assert list((tmp_path / "shared" / MARKERS).iterdir()) == []


async def test_a_node_with_another_data_dir_is_refused_and_leaves_nothing(database, tmp_path):
    first = await member(database, tmp_path / "shared", "first").join()

    with pytest.raises(DataDirNotShared, match=r"is not the data directory of the running worker node first"):
        await member(database, tmp_path / "other", "second").join()

    assert [row["node"] for row in await database.pool.fetch("SELECT node FROM cluster_nodes")] == ["first"]
    assert list((tmp_path / "other" / MARKERS).iterdir()) == []
    await first.leave()


async def test_a_node_gone_without_leaving_stops_counting_once_its_lease_ran_out(database, tmp_path):
    await database.pool.execute("INSERT INTO cluster_nodes (node, marker, role, queues, expires_at) "
                                "VALUES ('killed', 'gone', 'web', '{}', now() - interval '1 second')")

    joined = await member(database, tmp_path / "other", "later").join()

    assert [row["node"] for row in await database.pool.fetch("SELECT node FROM cluster_nodes")] == ["later"]
    await joined.leave()
