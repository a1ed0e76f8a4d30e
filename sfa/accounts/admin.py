"""What an admin may change about another user: role and status, within the rules of the hierarchy.

Nobody grants a role above their own or touches a user who outranks them, and the last active
super_admin can be neither demoted nor suspended. Each change is audited, and announced to every server
process (:func:`credentials_changed`), in the same transaction.
"""

from __future__ import annotations

from pypika import PostgreSQLQuery, functions
from pypika.terms import Parameter

from sfa.accounts import audit
from sfa.accounts.roles import rank
from sfa.accounts.sessions import close_all_sessions
from sfa.accounts.tokens import credentials_changed
from sfa.accounts.users import COLUMNS, User, users
from sfa.pubsub import notify


class Forbidden(Exception):
    """The actor's role does not allow this change."""


class Refused(ValueError):
    """The change would break an invariant; ``field`` names what to report it under."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


LOCK_TARGET = str(PostgreSQLQuery.from_(users).select(*COLUMNS).where(users.id == Parameter("$1")).for_update())
# Locks every active super_admin row, so two admins demoting the last two at once cannot both succeed.
LOCK_SUPER_ADMINS = str(PostgreSQLQuery.from_(users).select(users.id)
                        .where((users.role == "super_admin") & (users.status == "active")).for_update())


def _update(changes: dict[str, str]) -> str:
    query = PostgreSQLQuery.update(users).set(users.updated_at, functions.Now())
    for n, field in enumerate(changes, start=2):
        query = query.set(users.field(field), Parameter(f"${n}"))
    return str(query.where(users.id == Parameter("$1")).returning(*COLUMNS))


async def change_user(db, actor: User, target_id: int, changes: dict[str, str]) -> User | None:
    """Apply ``changes`` (``role`` and/or ``status``, already validated); None when there is no such user."""
    async with db.pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(LOCK_TARGET, target_id)
        if row is None:
            return None
        target = User(**dict(row))
        if rank(target.role) > rank(actor.role):
            raise Forbidden(f"a {actor.role} cannot change a {target.role}")
        if "role" in changes and rank(changes["role"]) > rank(actor.role):
            raise Forbidden(f"a {actor.role} cannot grant the {changes['role']} role")
        leaves_super_admins = (changes.get("role", target.role) != "super_admin"
                               or changes.get("status", target.status) != "active")
        if (target.role == "super_admin" and target.active and leaves_super_admins
                and len(await conn.fetch(LOCK_SUPER_ADMINS)) <= 1):
            field = "role" if "role" in changes and changes["role"] != "super_admin" else "status"
            raise Refused(field, "the last super_admin cannot be demoted or suspended")
        updated = User(**dict(await conn.fetchrow(_update(changes), target_id, *changes.values())))
        if changes.get("status") == "suspended":
            await close_all_sessions(conn, target_id)
        before = {field: getattr(target, field) for field in changes}
        await audit.record(conn, actor_id=actor.id, action="user.update", target_type="user",
                           target_id=target_id, changes={"before": before, "after": changes})
        await notify(conn, credentials_changed(target_id))
        return updated
