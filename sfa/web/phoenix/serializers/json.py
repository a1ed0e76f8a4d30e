"""The JSON both text serializers share, and the checks a client's text frame passes before it is a Message.

Anything a client can put in a frame that is not what the protocol says (bad JSON, nesting past
:data:`MAX_NESTING`, ``NaN``, a lone UTF-16 surrogate, a field of the wrong type or too long) raises
:class:`InvalidMessage`, so the socket closes with 1007 and nothing of it reaches a channel or an encoder.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from sfa.pubsub.broadcast import dumps
from sfa.web.phoenix.message import MAX_FIELD_BYTES, InvalidMessage, Message

__all__ = ["MAX_NESTING", "client_message", "dumps", "loads"]

MAX_NESTING = 64
"""The deepest a frame's JSON may nest. Replies wrap a payload two levels deeper, and neither the decoder's
nor the encoder's recursion limit may be what stops a client: both would be a crash, not an answer."""

_ESCAPED_SURROGATE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def loads(frame: str) -> Any:
    try:
        value = json.loads(frame, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError:
        raise InvalidMessage(f"JSON nested deeper than {MAX_NESTING} levels") from None
    except ValueError as exc:
        raise InvalidMessage(f"malformed JSON: {exc}") from None
    # Both scans below are skipped unless the raw text could hold what they look for.
    if frame.count("[") + frame.count("{") > MAX_NESTING:
        _check_nesting(value)
    if _ESCAPED_SURROGATE.search(frame):
        _check_surrogates(value)
    return value


def client_message(topic: Any, event: Any, payload: Any, ref: Any, join_ref: Any) -> Message:
    """The Message a text frame's fields make, once each has the type and size the protocol gives it."""
    return Message(_text(topic, "topic"), _text(event, "event"), _object(payload), _optional_text(ref, "ref"),
                   _optional_text(join_ref, "join_ref"))


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise InvalidMessage(f"{name} must be a string, not {type(value).__name__}")
    if len(value.encode()) > MAX_FIELD_BYTES:
        raise InvalidMessage(f"{name} is longer than {MAX_FIELD_BYTES} bytes")
    return value


def _optional_text(value: Any, name: str) -> str | None:
    return None if value is None else _text(value, name)


def _object(payload: Any) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise InvalidMessage(f"the payload must be a JSON object, not {type(payload).__name__}")
    return payload


def _refuse_constant(name: str) -> None:
    raise InvalidMessage(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise InvalidMessage(f"{text[:20]} is too large for a JSON number")
    return number


def _check_nesting(value: Any) -> None:
    stack = [(value, 1)] if isinstance(value, list | dict) else []
    while stack:
        node, depth = stack.pop()
        if depth > MAX_NESTING:
            raise InvalidMessage(f"JSON nested deeper than {MAX_NESTING} levels")
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, list | dict))


def _check_surrogates(value: Any) -> None:
    """A ``\\uD800``-style escape without its pair decodes to a str that cannot be written as UTF-8."""
    try:
        dumps(value).encode()
    except UnicodeEncodeError:
        raise InvalidMessage("a string holds a lone UTF-16 surrogate") from None
