"""The JSON both text serializers share."""

from __future__ import annotations

import json
from typing import Any

from sfa.pubsub.broadcast import dumps
from sfa.web.phoenix.message import InvalidMessage

__all__ = ["dumps", "loads", "require_object", "require_text"]


def loads(frame: str | bytes) -> Any:
    try:
        return json.loads(frame)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidMessage(f"malformed JSON: {exc}") from None


def require_object(payload: Any) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise InvalidMessage(f"the payload must be a JSON object, not {type(payload).__name__}")
    return payload


def require_text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise InvalidMessage(f"{name} must be a string, not {type(value).__name__}")
    return value
