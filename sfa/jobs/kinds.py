"""What the queue does around each kind of job: which worker pool runs it (its queue's, unless the kind
says otherwise), the arguments its performer gets, and how a completed job's result is recorded in the
domain tables (in the same transaction that marks it completed)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg

from sfa.analysis import job as analysis
from sfa.config import Config
from sfa.integrations.downloader import job as download
from sfa.jobs.job import Job
from sfa.separation import job as separation

Connection = asyncpg.Connection | asyncpg.pool.PoolConnectionProxy


def _same_args(job: Job, config: Config) -> Mapping[str, Any]:
    return job.args


async def _nothing_to_record(conn: Connection, job: Job, config: Config) -> None:
    return None


def _own_queue(job: Job) -> str:
    return job.queue


@dataclass(frozen=True, slots=True)
class Kind:
    prepare: Callable[[Job, Config], Mapping[str, Any]] = _same_args
    record: Callable[[Connection, Job, Config], Awaitable[None]] = _nothing_to_record
    pool: Callable[[Job], str] = _own_queue


PLAIN = Kind()
KINDS: Mapping[str, Kind] = {
    "download": Kind(prepare=download.prepare, record=download.record),
    "analysis": Kind(prepare=analysis.prepare, record=analysis.record),
    "processing": Kind(prepare=separation.prepare, record=separation.record, pool=separation.pool_for),
}


def kind_of(job: Job) -> Kind:
    return KINDS.get(job.kind, PLAIN)
