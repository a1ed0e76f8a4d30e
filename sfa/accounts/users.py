"""Users: creation, look-up, password checks and the admin's role and status changes."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import datetime

import asyncpg
from pypika import Order, PostgreSQLQuery, Table, functions
from pypika.terms import Parameter

from sfa.accounts.passwords import hash_password, verify_password
from sfa.db.text import contains_pattern

users = Table("users")

COLUMNS = ("id", "email", "role", "status", "inserted_at")
EMAIL = re.compile(r"^[^\s@]+@[^\s@]+$")
MAX_EMAIL_LENGTH = 160


@dataclass(frozen=True, slots=True)
class User:
    id: int
    email: str
    role: str
    status: str
    inserted_at: datetime

    @property
    def active(self) -> bool:
        return self.status == "active"

    def to_json(self) -> dict:
        return {"id": self.id, "email": self.email, "role": self.role, "status": self.status,
                "inserted_at": self.inserted_at.isoformat()}


class EmailTaken(ValueError):
    pass


def email_problems(email: object) -> list[str]:
    if not isinstance(email, str):
        return ["must be a string"]
    if len(email) > MAX_EMAIL_LENGTH:
        return [f"should be at most {MAX_EMAIL_LENGTH} characters"]
    if not EMAIL.match(email):
        return ["must have the @ sign and no spaces"]
    return []


def _user(row: asyncpg.Record | None) -> User | None:
    return None if row is None else User(**{name: row[name] for name in COLUMNS})


async def create_user(db, email: str, password: str, role: str = "user") -> User:
    """Insert a user with an argon2 hash of ``password``; EmailTaken when the address is in use."""
    hashed = await asyncio.to_thread(hash_password, password)
    query = (PostgreSQLQuery.into(users).columns("email", "hashed_password", "role")
             .insert(Parameter("$1"), Parameter("$2"), Parameter("$3")).returning(*COLUMNS))
    try:
        return _user(await db.pool.fetchrow(str(query), email, hashed, role))
    except asyncpg.UniqueViolationError:
        raise EmailTaken(email) from None


async def get_user(db, user_id: int) -> User | None:
    query = PostgreSQLQuery.from_(users).select(*COLUMNS).where(users.id == Parameter("$1"))
    return _user(await db.pool.fetchrow(str(query), user_id))


async def get_user_by_email(db, email: str) -> User | None:
    query = (PostgreSQLQuery.from_(users).select(*COLUMNS)
             .where(functions.Lower(users.email) == functions.Lower(Parameter("$1"))))
    return _user(await db.pool.fetchrow(str(query), email))


async def authenticate_password(db, email: str, password: str) -> User | None:
    """The user with this email and password, or None; the same work is done whether the email exists."""
    query = (PostgreSQLQuery.from_(users).select(*COLUMNS, "hashed_password")
             .where(functions.Lower(users.email) == functions.Lower(Parameter("$1"))))
    row = await db.pool.fetchrow(str(query), email)
    hashed = None if row is None else row["hashed_password"]
    if await asyncio.to_thread(verify_password, hashed, password):
        return _user(row)
    return None


async def set_password(db, user_id: int, password: str) -> None:
    hashed = await asyncio.to_thread(hash_password, password)
    query = (PostgreSQLQuery.update(users).set(users.hashed_password, Parameter("$2"))
             .set(users.updated_at, functions.Now()).where(users.id == Parameter("$1")))
    await db.pool.execute(str(query), user_id, hashed)


async def list_users(db, *, offset: int, limit: int, email_containing: str = "") -> tuple[list[User], int]:
    """Users by id, those whose email contains ``email_containing`` (case-insensitive) when it is given."""
    matching = users.email.ilike(Parameter("$1"))
    query = (PostgreSQLQuery.from_(users).select(*COLUMNS).where(matching).orderby(users.id, order=Order.asc)
             .offset(Parameter("$2")).limit(Parameter("$3")))
    pattern = contains_pattern(email_containing)
    rows = await db.pool.fetch(str(query), pattern, offset, limit)
    total = await db.pool.fetchval(str(PostgreSQLQuery.from_(users).select(functions.Count("*")).where(matching)),
                                   pattern)
    return [_user(row) for row in rows], total
