"""Roles, lowest to highest. ``platform_admin`` is the reference's name for ``admin``."""

from __future__ import annotations

ROLES = ("user", "pro", "enterprise", "admin", "super_admin")
ALIASES = {"platform_admin": "admin"}
STATUSES = ("active", "suspended")


def canonical_role(name: str) -> str | None:
    """The role ``name`` stands for, or None when it names none."""
    name = ALIASES.get(name, name)
    return name if name in ROLES else None


def rank(role: str) -> int:
    return ROLES.index(role)


def at_least(role: str, minimum: str) -> bool:
    return rank(role) >= rank(minimum)
