"""``Job``: one row of the ``jobs`` table as the rest of the server sees it."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import asyncpg

from sfa.jobs.states import RUNNING


@dataclass(frozen=True, slots=True)
class Job:
    id: int
    user_id: int
    track_id: int | None
    kind: str
    queue: str
    running_status: str
    args: dict[str, Any]
    state: str
    priority: int
    progress: int
    message: str
    attempt: int
    max_attempts: int
    errors: list[dict[str, Any]]
    result: Any
    node: str | None
    run_at: datetime
    inserted_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Job:
        values = {name: row[name] for name in COLUMNS}
        for name in JSON_COLUMNS:
            if values[name] is not None:
                values[name] = json.loads(values[name])
        return cls(**values)

    @property
    def status(self) -> str:
        """The state as clients read it: a running job says what it does (its kind's ``running_status``)."""
        return self.running_status if self.state == RUNNING else self.state

    @property
    def error(self) -> str | None:
        return self.errors[-1]["error"] if self.errors else None

    def to_json(self) -> dict[str, Any]:
        def stamp(value: datetime | None) -> str | None:
            return None if value is None else value.isoformat()

        return {
            "id": self.id, "kind": self.kind, "job_type": self.kind, "queue": self.queue, "status": self.status,
            "progress": self.progress, "message": self.message, "track_id": self.track_id, "args": self.args,
            "attempts": self.attempt, "max_attempts": self.max_attempts, "error": self.error, "errors": self.errors,
            "result": self.result, "scheduled_at": stamp(self.run_at), "inserted_at": stamp(self.inserted_at),
            "started_at": stamp(self.started_at), "finished_at": stamp(self.finished_at),
            "updated_at": stamp(self.updated_at),
        }


COLUMNS = tuple(f.name for f in fields(Job))
JSON_COLUMNS = ("args", "errors", "result")
