"""The one message PubSub carries."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Broadcast:
    """An ``event`` with a JSON ``payload`` for everyone subscribed to ``topic``."""

    topic: str
    event: str
    payload: Any


def dumps(value: Any) -> str:
    """Compact JSON; values JSON has no type for (datetimes, decimals) travel as their ``str``."""
    return json.dumps(value, default=_as_text, separators=(",", ":"), ensure_ascii=False)


def _as_text(value: Any) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        raise TypeError("bytes are not JSON; a binary payload goes to one client with Channel.push")
    return str(value)
