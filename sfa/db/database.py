"""The connection pool every part of the server shares (Ecto's Repo), and the checks around it."""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from pypika import Query, Table
from pypika.terms import Parameter

pg_database = Table("pg_database")

log = logging.getLogger(__name__)


def with_database(url: str, database: str) -> str:
    """``url`` pointed at another database on the same server (the query string, e.g. a socket host, kept)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + database))


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/") or "postgres"


async def ensure_database(url: str) -> bool:
    """Create the database ``url`` names when it is missing; True when it was created."""
    name = database_name(url)
    conn = await asyncpg.connect(with_database(url, "postgres"))
    try:
        exists = Query.from_(pg_database).select(1).where(pg_database.datname == Parameter("$1"))
        if await conn.fetchval(str(exists), name):
            return False
        # CREATE DATABASE takes no bind parameters: the name is quoted as an identifier instead.
        await conn.execute(f"CREATE DATABASE {quote_ident(name)}")
        return True
    finally:
        await conn.close()


async def drop_database(url: str) -> None:
    conn = await asyncpg.connect(with_database(url, "postgres"))
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {quote_ident(database_name(url))} WITH (FORCE)")
    finally:
        await conn.close()


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def _no_session_state(conn: asyncpg.Connection) -> None:
    """What a connection going back to the pool needs beyond asyncpg's own rollback of an open transaction:
    nothing, as no code leaves session state on a pooled connection (locks are ``pg_advisory_xact_lock``,
    settings ``SET LOCAL``, LISTEN runs on connections of its own). asyncpg's default reset query (unlock all,
    close all, unlisten, reset all) would cost a round trip on every release: a third of a REST request's."""


class Database:
    """An asyncpg pool plus the health check that ``/health`` reports."""

    def __init__(self, url: str, *, max_size: int = 10) -> None:
        self.url = url
        self.max_size = max_size
        self.pool: asyncpg.Pool | None = None

    async def connect(self) -> Database:
        self.pool = await asyncpg.create_pool(self.url, min_size=1, max_size=self.max_size, reset=_no_session_state)
        return self

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.close()

    async def ping(self, timeout: float) -> str | None:
        """None when the database answers ``SELECT 1`` within ``timeout`` seconds, else what went wrong."""
        try:
            async with asyncio.timeout(timeout):
                async with self.pool.acquire() as conn:
                    await conn.fetchval("SELECT 1")
        except TimeoutError:
            return f"no answer within {timeout:g}s"
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError) as exc:
            # The answer is public (``/health``); the details (addresses, socket paths) go to the log only.
            log.warning("database ping failed: %s: %s", type(exc).__name__, exc)
            return f"unreachable ({type(exc).__name__})"
        return None
