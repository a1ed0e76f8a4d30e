"""Browser sessions: a server-side row per login, referenced from the encrypted cookie."""

from __future__ import annotations

from pypika import PostgreSQLQuery, Table
from pypika.terms import Parameter

from sfa.accounts.secrets import digest, new_secret
from sfa.accounts.users import COLUMNS as USER_COLUMNS
from sfa.accounts.users import User, users

user_sessions = Table("user_sessions")


async def open_session(db, user_id: int) -> str:
    secret = new_secret("")
    query = (PostgreSQLQuery.into(user_sessions).columns("token_hash", "user_id")
             .insert(Parameter("$1"), Parameter("$2")))
    await db.pool.execute(str(query), digest(secret), user_id)
    return secret


async def user_for_session(db, secret: str) -> User | None:
    query = (PostgreSQLQuery.from_(user_sessions).join(users).on(users.id == user_sessions.user_id)
             .select(*(users.field(name) for name in USER_COLUMNS))
             .where(user_sessions.token_hash == Parameter("$1")))
    row = await db.pool.fetchrow(str(query), digest(secret))
    return None if row is None else User(**dict(row))


async def close_session(db, secret: str) -> None:
    query = PostgreSQLQuery.from_(user_sessions).delete().where(user_sessions.token_hash == Parameter("$1"))
    await db.pool.execute(str(query), digest(secret))


async def close_all_sessions(conn, user_id: int) -> None:
    query = PostgreSQLQuery.from_(user_sessions).delete().where(user_sessions.user_id == Parameter("$1"))
    await conn.execute(str(query), user_id)
