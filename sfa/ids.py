"""One reading of a record id, wherever a client writes one: a URL path, a channel topic, a file path, a
JSON body.

Ids are positive bigints. In text (a path segment, a topic's suffix, a JSON string) an id is 1 to 18
decimal digits without a leading zero; in JSON it may also be a number, so ``"track_id": "42"`` reads as
``42``, as Ecto casts it. Anything else names no record: a route answers 404, a join is refused, a body
field is invalid.
"""

from __future__ import annotations

import re

MAX_ID = 2**63 - 1
DECIMAL_ID = re.compile(r"[1-9][0-9]{0,17}")


def parse_id(value: object) -> int | None:
    """The id ``value`` writes, or None when it writes none."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value <= MAX_ID else None
    if isinstance(value, str) and DECIMAL_ID.fullmatch(value):
        return int(value)
    return None
