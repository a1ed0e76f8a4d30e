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
    return json.dumps(value, default=str, separators=(",", ":"), ensure_ascii=False)
