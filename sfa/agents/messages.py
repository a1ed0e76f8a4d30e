"""The messages of a conversation, in one shape shared by the store, the providers and the API.

Providers translate these to and from their own wire formats; the store keeps them as they are.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

USER, ASSISTANT, TOOL = "user", "assistant", "tool"


@dataclass(frozen=True, slots=True)
class ToolCall:
    id: str
    name: str
    arguments: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "arguments": self.arguments}


@dataclass(frozen=True, slots=True)
class Message:
    """One message: a ``user``'s words, an ``assistant`` reply (with its ``tool_calls``), or a ``tool`` result
    answering the call ``tool_call_id``."""

    role: str
    content: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    name: str | None = None
    result: Any = None
    agent: str | None = None
    provider: str | None = None
    id: int | None = None
    inserted_at: datetime | None = None

    @classmethod
    def tool_result(cls, call: ToolCall, result: dict[str, Any]) -> Message:
        return cls(TOOL, json.dumps(result, default=str), tool_call_id=call.id, name=call.name, result=result)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "role": self.role, "content": self.content,
                "tool_calls": [call.to_json() for call in self.tool_calls], "tool_call_id": self.tool_call_id,
                "name": self.name, "result": self.result, "agent": self.agent, "provider": self.provider,
                "inserted_at": None if self.inserted_at is None else self.inserted_at.isoformat()}


@dataclass(frozen=True, slots=True)
class Turn:
    """What one user message produced: the messages to store after it, the reply and the actions taken."""

    messages: tuple[Message, ...]
    reply: str
    actions: tuple[dict[str, Any], ...] = field(default=())
