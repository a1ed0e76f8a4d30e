"""Numbered plain-SQL migrations from ``sql/``, applied in order, once, by one node at a time.

Files are named ``NNNN_description.sql``. Each runs in its own transaction together with the row that
records it in ``schema_migrations``, so a failure leaves neither half. A session-level advisory lock makes a
second node that starts at the same moment wait, then find nothing left to do.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from pypika import Order, Query, Table
from pypika.terms import Parameter

log = logging.getLogger(__name__)

SQL_DIR = Path(__file__).resolve().parents[2] / "sql"
FILENAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
# An arbitrary constant shared by every node: "SFA migrate" folded into a bigint.
LOCK_KEY = int.from_bytes(hashlib.sha256(b"sfa.migrations").digest()[:8], "big", signed=True)

schema_migrations = Table("schema_migrations")

CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


class MigrationError(RuntimeError):
    """A migration failed: its file name and the database's error, ready to print."""

    def __init__(self, filename: str, error: str) -> None:
        super().__init__(f"migration {filename} failed: {error}")
        self.filename = filename


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text()

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


def discover(directory: Path = SQL_DIR) -> list[Migration]:
    """The migrations in ``directory`` in version order; a misnamed file or a repeated number is an error."""
    migrations = []
    for path in sorted(directory.glob("*.sql")):
        match = FILENAME.match(path.name)
        if not match:
            raise MigrationError(path.name, "expected a name like 0001_description.sql")
        migrations.append(Migration(int(match[1]), match[2], path))
    versions = [m.version for m in migrations]
    if len(set(versions)) != len(versions):
        repeated = sorted({v for v in versions if versions.count(v) > 1})
        raise MigrationError(directory.name, f"version numbers used twice: {repeated}")
    return migrations


async def migrate(url: str, directory: Path = SQL_DIR) -> list[Migration]:
    """Apply every pending migration; return those applied by this call (empty when up to date)."""
    migrations = discover(directory)
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)
        try:
            return await _apply_pending(conn, migrations)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)
    finally:
        await conn.close()


async def _apply_pending(conn: asyncpg.Connection, migrations: list[Migration]) -> list[Migration]:
    await conn.execute(CREATE_TABLE)
    select = Query.from_(schema_migrations).select("version", "checksum").orderby("version", order=Order.asc)
    applied = {row["version"]: row["checksum"] for row in await conn.fetch(str(select))}
    insert = Query.into(schema_migrations).columns("version", "name", "checksum").insert(
        Parameter("$1"), Parameter("$2"), Parameter("$3")
    )
    done = []
    for migration in migrations:
        if migration.version in applied:
            if applied[migration.version] != migration.checksum:
                log.warning("%s changed after it was applied; the change is not re-run", migration.path.name)
            continue
        try:
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(str(insert), migration.version, migration.name, migration.checksum)
        except asyncpg.PostgresError as exc:
            raise MigrationError(migration.path.name, f"{type(exc).__name__}: {exc}") from exc
        log.info("applied migration %s", migration.path.name)
        done.append(migration)
    return done
