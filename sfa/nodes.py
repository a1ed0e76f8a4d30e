"""The nodes of one cluster (every server process on the same database, web or worker-only), and the check
that they share ``SFA_DATA_DIR``.

Files are named by id under ``SFA_DATA_DIR`` and any node may run any job or serve any file, so every node
must see the same files: one shared directory (NFS, CephFS, a cloud file share) mounted on each machine.
A node cannot tell that from a path, so it proves it: on start it writes a marker file with a random name
into ``SFA_DATA_DIR/.nodes/``, records that name in ``cluster_nodes``, and looks for the marker of every
other live node in its own data dir. One missing means the two do not share the directory, and the node
refuses to start (whichever of two such nodes starts second notices, since each records itself before it
looks). A live node renews its row every third of ``SFA_QUEUE_LEASE_S`` (its lease); a row not renewed for
its node's lease is of a node gone without stopping (``kill -9``), and the next node to start drops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Sequence
from pathlib import Path

import asyncpg

from sfa.db.database import Database

log = logging.getLogger(__name__)

MARKERS = ".nodes"

JOIN = """
INSERT INTO cluster_nodes (node, marker, role, queues, expires_at)
VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))
"""
# Rows of nodes that stopped renewing: gone without leaving. Their marker names come back to be removed.
DROP_GONE = "DELETE FROM cluster_nodes WHERE expires_at < now() RETURNING marker"
OTHERS = "SELECT node, role, marker FROM cluster_nodes WHERE node <> $1"
RENEW = "UPDATE cluster_nodes SET expires_at = now() + make_interval(secs => $2) WHERE node = $1"
LEAVE = "DELETE FROM cluster_nodes WHERE node = $1"


class DataDirNotShared(RuntimeError):
    """This node's SFA_DATA_DIR is not the directory the other nodes use; the message says which node."""


class ClusterNode:
    """This process as a member of the cluster, from :meth:`join` to :meth:`leave`."""

    def __init__(self, database: Database, data_dir: Path, node: str, *, role: str, queues: Sequence[str],
                 lease_s: float) -> None:
        self.database = database
        self.data_dir = data_dir
        self.node = node
        self.role = role
        self.queues = list(queues)
        self.lease_s = lease_s
        self.marker = secrets.token_hex(16)
        self._renewing: asyncio.Task | None = None

    @property
    def marker_path(self) -> Path:
        return self.data_dir / MARKERS / self.marker

    async def join(self) -> ClusterNode:
        """Record this node, then check the data dir against every other live node's marker."""
        self.marker_path.parent.mkdir(parents=True, exist_ok=True)
        self.marker_path.write_text(f"{self.node}\n")
        async with self.database.pool.acquire() as conn:
            for gone in await conn.fetch(DROP_GONE):
                (self.data_dir / MARKERS / gone["marker"]).unlink(missing_ok=True)
            await conn.execute(JOIN, self.node, self.marker, self.role, self.queues, self.lease_s)
            others = await conn.fetch(OTHERS, self.node)
        for other in others:
            if not (self.data_dir / MARKERS / other["marker"]).is_file():
                await self.leave()
                raise DataDirNotShared(
                    f"SFA_DATA_DIR {self.data_dir} is not the data directory of the running {other['role']} node "
                    f"{other['node']} (its marker {MARKERS}/{other['marker']} is not there): every node must "
                    f"read and write the same files, so mount one shared directory as SFA_DATA_DIR on each")
        self._renewing = asyncio.create_task(self._renew(), name="cluster node renewal")
        log.info("node %s (%s) joined; %d other node(s) share %s", self.node, self.role, len(others), self.data_dir)
        return self

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(self.lease_s / 3)
            try:
                await self.database.pool.execute(RENEW, self.node, self.lease_s)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("node %s: renewing its cluster row failed (%s)", self.node, exc)

    async def leave(self) -> None:
        if self._renewing is not None:
            self._renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewing
        await self.database.pool.execute(LEAVE, self.node)
        self.marker_path.unlink(missing_ok=True)
