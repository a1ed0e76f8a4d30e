"""``Maintenance``: what one node at a time does for the whole queue, every third of ``SFA_QUEUE_LEASE_S``.

Finished jobs older than ``SFA_QUEUE_RETENTION_S`` are deleted (their outcome lives on in the domain
tables: a track's file, its stems, its analysis), and the overview's count deltas are folded. Every node
runs the loop; a transaction-level advisory lock lets one of them do a round while the others skip it.
"""

from __future__ import annotations

import asyncio
import logging

import asyncpg

from sfa.config import Config
from sfa.db.database import Database
from sfa.jobs import store
from sfa.jobs.stats import fold_counts

log = logging.getLogger(__name__)

PRUNE_BATCH = 5000
# pg_try_advisory_xact_lock's key for a maintenance round: any constant other advisory locks do not use.
LOCK_KEY = 0x5FA_0B5
TRY_LOCK = "SELECT pg_try_advisory_xact_lock($1)"


class Maintenance:
    def __init__(self, database: Database, config: Config) -> None:
        self.database = database
        self.config = config
        self._task: asyncio.Task | None = None

    def start(self) -> Maintenance:
        self._task = asyncio.create_task(self._loop(), name="jobs:maintenance")
        return self

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _loop(self) -> None:
        while True:
            try:
                await self.round()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("job maintenance round failed (%s)", exc)
            await asyncio.sleep(self.config.queue_lease_s / 3)

    async def round(self) -> int | None:
        """Prune and fold once; the jobs pruned, or None when another node holds the round."""
        pruned = 0
        async with self.database.pool.acquire() as conn:
            while True:
                async with conn.transaction():
                    if not await conn.fetchval(TRY_LOCK, LOCK_KEY):
                        return None
                    batch = await store.prune(conn, self.config.queue_retention_s, PRUNE_BATCH)
                    pruned += batch
                    if batch < PRUNE_BATCH:
                        await fold_counts(conn)
                        break
        if pruned:
            log.info("pruned %d jobs finished over %gs ago", pruned, self.config.queue_retention_s)
        return pruned
