"""API tokens: created in settings, shown once, stored hashed, revocable; a token acts as its user."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pypika import Order, PostgreSQLQuery, Table, functions
from pypika.terms import Parameter

from sfa.accounts.secrets import digest, new_secret
from sfa.accounts.users import COLUMNS as USER_COLUMNS
from sfa.accounts.users import User, users
from sfa.pubsub import Broadcast, notify

api_tokens = Table("api_tokens")

TOKEN_PREFIX = "sfa_"
CREDENTIALS_TOPIC = "credentials"
CREDENTIALS_CHANGED = "changed"
COLUMNS = ("id", "user_id", "name", "prefix", "last_used_at", "revoked_at", "inserted_at")
MAX_NAME_LENGTH = 80


@dataclass(frozen=True, slots=True)
class ApiToken:
    id: int
    user_id: int
    name: str
    prefix: str
    last_used_at: datetime | None
    revoked_at: datetime | None
    inserted_at: datetime


def credentials_changed(user_id: int) -> Broadcast:
    """The news that what ``user_id``'s tokens grant has changed (revoked, or the user's role or status), sent
    to every server process in the transaction of the change, so none keeps serving what it remembers."""
    return Broadcast(CREDENTIALS_TOPIC, CREDENTIALS_CHANGED, {"user_id": user_id})


def looks_like_token(value: str) -> bool:
    return value.startswith(TOKEN_PREFIX) and 40 <= len(value) <= 64


async def create_api_token(db, user_id: int, name: str) -> tuple[ApiToken, str]:
    """A new token for ``user_id``: its row and the secret, which is never stored and never shown again."""
    secret = new_secret(TOKEN_PREFIX)
    query = (PostgreSQLQuery.into(api_tokens).columns("user_id", "name", "token_hash", "prefix")
             .insert(Parameter("$1"), Parameter("$2"), Parameter("$3"), Parameter("$4")).returning(*COLUMNS))
    row = await db.pool.fetchrow(str(query), user_id, name, digest(secret), secret[:12])
    return ApiToken(**dict(row)), secret


async def list_api_tokens(db, user_id: int) -> list[ApiToken]:
    query = (PostgreSQLQuery.from_(api_tokens).select(*COLUMNS).where(api_tokens.user_id == Parameter("$1"))
             .orderby(api_tokens.id, order=Order.desc))
    return [ApiToken(**dict(row)) for row in await db.pool.fetch(str(query), user_id)]


async def revoke_api_token(db, user_id: int, token_id: int) -> bool:
    """Revoke one of ``user_id``'s own tokens; False when there is no such live token of theirs."""
    query = (PostgreSQLQuery.update(api_tokens).set(api_tokens.revoked_at, functions.Now())
             .where((api_tokens.id == Parameter("$1")) & (api_tokens.user_id == Parameter("$2"))
                    & api_tokens.revoked_at.isnull()))
    async with db.pool.acquire() as conn, conn.transaction():
        revoked = await conn.execute(str(query), token_id, user_id) == "UPDATE 1"
        if revoked:
            await notify(conn, credentials_changed(user_id))
    return revoked


# Every API request authenticates, so the last use is written at most once a minute per token rather
# than turning each request into a write.
LAST_USE_PRECISION = timedelta(minutes=1)
SELECT_OWNER = str(PostgreSQLQuery.from_(api_tokens).join(users).on(users.id == api_tokens.user_id)
                   .select(*(users.field(name) for name in USER_COLUMNS), api_tokens.id.as_("token_id"),
                           api_tokens.last_used_at)
                   .where((api_tokens.token_hash == Parameter("$1")) & api_tokens.revoked_at.isnull()))
TOUCH = str(PostgreSQLQuery.update(api_tokens).set(api_tokens.last_used_at, functions.Now())
            .where(api_tokens.id == Parameter("$1")))


async def user_for_token(db, secret: str) -> User | None:
    """The owner of a live (unrevoked) token, whatever the owner's status; None for anything else."""
    if not looks_like_token(secret):
        return None
    row = await db.pool.fetchrow(SELECT_OWNER, digest(secret))
    if row is None:
        return None
    last_used = row["last_used_at"]
    if last_used is None or datetime.now(UTC) - last_used >= LAST_USE_PRECISION:
        await db.pool.execute(TOUCH, row["token_id"])
    return User(**{name: row[name] for name in USER_COLUMNS})
