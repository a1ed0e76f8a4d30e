"""``JobKind``: everything the server knows about one kind of job, declared once beside its performer.

A kind names its queue (each queue has a claim loop and a worker pool of its own, sized by the kind's
``workers`` setting), the function that performs it in a worker process, the pool that runs it when that
is not its queue's, the ``prepare`` and ``record`` steps that run in the server around it, and how a
running job of it reads to clients. The server is handed its kinds when it starts (``JobKinds``), as
Oban's queues are configured in one place; nothing registers itself on import.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg

from sfa.actors.performers import JobContext
from sfa.config import Config
from sfa.jobs.job import Job
from sfa.jobs.states import RUNNING_STATUSES

Connection = asyncpg.Connection | asyncpg.pool.PoolConnectionProxy
Perform = Callable[[JobContext], Any]


def _same_args(job: Job, config: Config) -> Mapping[str, Any]:
    return job.args


async def _nothing_to_record(conn: Connection, job: Job, config: Config) -> None:
    return None


def _own_queue(job: Job) -> str:
    return job.queue


@dataclass(frozen=True, slots=True)
class JobKind:
    """``perform(ctx)`` runs in a worker process and returns a picklable result; ``prepare(job, config)``
    gives it the arguments (the job's own plus the server's settings it needs), and ``record(conn, job,
    config)`` writes a completed job's result to the domain tables in the transaction that completes it.
    ``workers`` names the :class:`~sfa.config.Config` field that sizes the queue's pool."""

    name: str
    queue: str
    workers: str
    perform: Perform
    prepare: Callable[[Job, Config], Mapping[str, Any]] = _same_args
    record: Callable[[Connection, Job, Config], Awaitable[None]] = _nothing_to_record
    pool: Callable[[Job], str] = _own_queue
    running_status: str = "processing"

    def __post_init__(self) -> None:
        if self.running_status not in RUNNING_STATUSES:
            raise ValueError(f"job kind {self.name!r}: running_status must be one of {', '.join(RUNNING_STATUSES)}")
        if self.workers not in Config.__dataclass_fields__:
            raise ValueError(f"job kind {self.name!r}: workers names no setting ({self.workers!r})")

    @property
    def performer(self) -> str:
        """``module:qualname`` of ``perform``, which a worker process imports: functions do not travel."""
        return f"{self.perform.__module__}:{self.perform.__qualname__}"


class JobKinds(Mapping[str, JobKind]):
    """The kinds one server runs, by name."""

    def __init__(self, *kinds: JobKind) -> None:
        self._kinds: dict[str, JobKind] = {}
        for kind in kinds:
            if kind.name in self._kinds:
                raise ValueError(f"job kind {kind.name!r} declared twice")
            self._kinds[kind.name] = kind
        workers = {}
        for kind in kinds:
            if workers.setdefault(kind.queue, kind.workers) != kind.workers:
                raise ValueError(f"queue {kind.queue!r} is sized by both {workers[kind.queue]} and {kind.workers}")
        self._workers = workers

    def __getitem__(self, name: str) -> JobKind:
        return self._kinds[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._kinds)

    def __len__(self) -> int:
        return len(self._kinds)

    def with_kinds(self, *kinds: JobKind) -> JobKinds:
        return JobKinds(*self.values(), *kinds)

    def queues(self, config: Config) -> dict[str, int]:
        """Queue name -> how many of its jobs one node runs at once (its pool's worker count)."""
        return {queue: getattr(config, setting) for queue, setting in self._workers.items()}

    def performers(self) -> dict[str, str]:
        """Kind name -> its performer's import path, as the worker processes receive them."""
        return {name: kind.performer for name, kind in self._kinds.items()}
