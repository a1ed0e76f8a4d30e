"""What PostgreSQL ``text`` cannot hold: the NUL character, and (since it is stored as UTF-8) an unpaired
surrogate. JSON escapes (``\\u0000``, ``\\ud800``) and percent-encoding (``%00``) let clients send both, so
input is checked before it reaches a query, where asyncpg would fail with a server error."""

from __future__ import annotations

import re
from typing import Any

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
UNSTORABLE_MESSAGE = "text must not contain NUL characters or unpaired surrogates"


def storable(text: str) -> bool:
    return UNSTORABLE.search(text) is None


def all_storable(value: Any) -> bool:
    """Whether every string (keys included) of a parsed JSON value is storable; iterative, so any depth."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if not storable(item):
                return False
        elif isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return True


def without_unstorable(text: str) -> str:
    return UNSTORABLE.sub("", text)


def contains_pattern(text: str) -> str:
    """An ``ILIKE`` pattern matching values that contain ``text`` literally (its ``%``, ``_`` and ``\\``
    escaped with PostgreSQL's default escape character)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
