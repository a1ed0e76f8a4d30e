"""The first super_admin, created once on a fresh database so a new install can be logged into."""

from __future__ import annotations

import secrets

from pypika import PostgreSQLQuery, Table
from pypika.terms import Parameter

from sfa.accounts.users import EmailTaken, create_user

users = Table("users")
ANY_SUPER_ADMIN = str(PostgreSQLQuery.from_(users).select(1).where(users.role == Parameter("$1")).limit(1))


def generate_password() -> str:
    return secrets.token_urlsafe(15)


async def ensure_super_admin(db, email: str, password: str | None) -> str | None:
    """Create the super_admin when none exists. Returns the password to show once when one was generated,
    ``""`` when the configured one was used, and None when nothing was created."""
    if await db.pool.fetchval(ANY_SUPER_ADMIN, "super_admin"):
        return None
    chosen = password or generate_password()
    try:
        await create_user(db, email, chosen, role="super_admin")
    except EmailTaken:
        return None
    return "" if password else chosen
