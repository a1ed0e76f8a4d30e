"""The provider behaviour: one streamed completion over the conversation's messages, and a minimal probe.

A provider's failure (an HTTP error after its SDK's bounded retries, a timeout, a refused connection, a
stream cut off midway, which the SDKs raise as their HTTP client's own error) is a :class:`ProviderError`
whose text is safe to show: it names the provider and the kind of failure, with the provider's own message
stripped of the configured key.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sfa.agents.messages import Message, ToolCall

TextSink = Callable[[str], Awaitable[None]]
MAX_ERROR_CHARS = 300


@dataclass(frozen=True, slots=True)
class ToolSpec:
    name: str
    description: str
    schema: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CompletionRequest:
    system: str
    messages: Sequence[Message]
    tools: Sequence[ToolSpec]
    max_tokens: int


@dataclass(frozen=True, slots=True)
class Completion:
    text: str
    tool_calls: tuple[ToolCall, ...]
    provider: str
    model: str


class ProviderError(Exception):
    """A provider did not answer; ``str()`` is safe for logs, clients and the health report."""

    def __init__(self, provider: str, message: str, *, secret: str | None = None) -> None:
        if secret:
            message = message.replace(secret, "[redacted]")
        super().__init__(f"{provider}: {message[:MAX_ERROR_CHARS]}")
        self.provider = provider


class Provider(Protocol):
    name: str
    model: str

    async def complete(self, request: CompletionRequest, on_text: TextSink) -> Completion:
        """Stream the reply's text to ``on_text`` as it arrives; the whole completion at the end."""

    async def probe(self) -> None:
        """The smallest request the API answers (one output token); raises :class:`ProviderError`."""

    async def close(self) -> None: ...


def http_failure(exc: Exception, timeout_s: float) -> str:
    """A short account of an SDK exception (both SDKs name their errors alike)."""
    status = getattr(exc, "status_code", None)
    kind = type(exc).__name__
    if "Timeout" in kind:
        return f"timed out after {timeout_s:g} s"
    if status is not None:
        return f"HTTP {status} ({kind}): {getattr(exc, 'message', '') or exc}"
    if "Connection" in kind:
        return "cannot connect"
    return f"{kind}: {exc}"


def tool_arguments(value: Any) -> dict[str, Any]:
    """A tool call's arguments as an object: a JSON text is parsed; anything else is no arguments (the tool
    then says which are missing)."""
    if isinstance(value, str):
        try:
            value = json.loads(value or "{}")
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}
