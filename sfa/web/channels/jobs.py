"""``jobs:<job_id>``: a job's progress, live, for its owner (events ``job:progress``, ``job:completed``,
``job:failed``, published with the helpers in :mod:`sfa.pubsub.jobs`)."""

from __future__ import annotations

from pypika import Query, Table
from pypika.terms import Parameter

from sfa.db.database import Database
from sfa.web.channels.owned import OwnedChannel

jobs = Table("jobs")
SELECT_OWNER = str(Query.from_(jobs).select(jobs.user_id).where(jobs.id == Parameter("$1")))


async def job_owner(database: Database, job_id: int) -> int | None:
    async with database.pool.acquire() as conn:
        return await conn.fetchval(SELECT_OWNER, job_id)


class JobsChannel(OwnedChannel):
    async def owner(self, record_id: int) -> int | None:
        return await job_owner(self.context.database, record_id)
