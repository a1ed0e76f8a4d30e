"""Fitting a conversation into a provider's context budget.

Messages are dropped oldest first, in units: an assistant message that calls tools goes together with the
results of those calls, since both APIs reject one without the other. A dropped tool result that a kept
message refers to (it mentions a track or job id the result holds) is kept after all while the budget
allows: "separate track 12" still makes sense when the search that found track 12 is long gone.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from sfa.agents.messages import TOOL, USER, Message

CHARS_PER_TOKEN = 4
MESSAGE_OVERHEAD_TOKENS = 4
ID_KEYS = ("id", "track_id", "job_id")
TRIMMED = Message(USER, "(Earlier messages of this conversation were left out to fit the context.)")


def estimate_tokens(text: str) -> int:
    return len(text) // CHARS_PER_TOKEN + 1


def message_tokens(message: Message) -> int:
    calls = json.dumps([call.to_json() for call in message.tool_calls]) if message.tool_calls else ""
    return estimate_tokens(message.content) + estimate_tokens(calls) + MESSAGE_OVERHEAD_TOKENS


def units(messages: Sequence[Message]) -> list[list[Message]]:
    grouped: list[list[Message]] = []
    for message in messages:
        if message.role == TOOL and grouped and grouped[-1][0].tool_calls:
            grouped[-1].append(message)
        else:
            grouped.append([message])
    return grouped


def ids_in(value: Any) -> set[int]:
    """Every track or job id a tool result holds, however deep."""
    found: set[int] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ID_KEYS and isinstance(item, int) and not isinstance(item, bool):
                found.add(item)
            else:
                found |= ids_in(item)
    elif isinstance(value, list):
        for item in value:
            found |= ids_in(item)
    return found


def _mentions(messages: list[Message], ids: set[int]) -> bool:
    text = " ".join(m.content + json.dumps([c.arguments for c in m.tool_calls]) for m in messages if m.role != TOOL)
    return any(re.search(rf"(?<!\d){number}(?!\d)", text) for number in ids)


def trim(messages: Sequence[Message], *, budget_tokens: int, system: str) -> list[Message]:
    """The newest messages that fit ``budget_tokens`` beside ``system`` (the newest unit always), plus the
    older tool results later messages refer to; opened by a user note when anything was left out (which also
    keeps the first message a user's, as the Messages API wants)."""
    grouped = units(messages)
    costs = [sum(map(message_tokens, unit)) for unit in grouped]
    room = budget_tokens - estimate_tokens(system)
    first_kept = len(grouped) - 1
    room -= costs[first_kept] if grouped else 0
    while first_kept > 0 and costs[first_kept - 1] <= room:
        first_kept -= 1
        room -= costs[first_kept]
    kept = [m for unit in grouped[first_kept:] for m in unit]
    pinned = []
    for index in range(first_kept - 1, -1, -1):
        unit = grouped[index]
        results = [m.result for m in unit if m.role == TOOL]
        if results and costs[index] <= room and _mentions(kept, ids_in(results)):
            pinned.insert(0, index)
            room -= costs[index]
    chosen = [m for index in pinned for m in grouped[index]] + kept
    return [TRIMMED, *chosen] if first_kept > 0 else chosen
