"""The audit trail: one row per admin action, written in the transaction that makes the change."""

from __future__ import annotations

import json

from pypika import PostgreSQLQuery, Table
from pypika.terms import Parameter

audit_log = Table("audit_log")

INSERT = str(PostgreSQLQuery.into(audit_log).columns("actor_id", "action", "target_type", "target_id", "changes")
             .insert(*(Parameter(f"${n}") for n in range(1, 6))))


async def record(conn, *, actor_id: int, action: str, target_type: str, target_id: object, changes: dict) -> None:
    await conn.execute(INSERT, actor_id, action, target_type, str(target_id), json.dumps(changes))
