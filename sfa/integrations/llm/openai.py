"""OpenAI's Chat Completions through the official ``openai`` async SDK, streamed; with a base URL it talks
to OpenAI-compatible servers (Ollama, vLLM) the same way."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import openai

from sfa.agents.messages import ASSISTANT, TOOL, Message, ToolCall
from sfa.integrations.llm.base import (
    Completion,
    CompletionRequest,
    ProviderError,
    TextSink,
    http_failure,
    tool_arguments,
)

NAME = "openai"
# Local servers take any key; the SDK insists on one.
KEYLESS = "unused"


def wire_messages(system: str, messages: list[Message] | tuple[Message, ...]) -> list[dict[str, Any]]:
    wire: list[dict[str, Any]] = [{"role": "system", "content": system}]
    for message in messages:
        if message.role == TOOL:
            wire.append({"role": "tool", "tool_call_id": message.tool_call_id, "content": message.content})
        elif message.role == ASSISTANT:
            entry: dict[str, Any] = {"role": "assistant", "content": message.content or None}
            if message.tool_calls:
                entry["tool_calls"] = [{"id": call.id, "type": "function", "function": {
                    "name": call.name, "arguments": json.dumps(call.arguments)}} for call in message.tool_calls]
            wire.append(entry)
        else:
            wire.append({"role": "user", "content": message.content})
    return wire


class OpenAIProvider:
    name = NAME

    def __init__(self, *, api_key: str | None, model: str, base_url: str | None, timeout_s: float,
                 max_retries: int) -> None:
        self.model = model
        self._key = api_key
        self._timeout_s = timeout_s
        self._client = openai.AsyncOpenAI(api_key=api_key or KEYLESS, base_url=base_url, timeout=timeout_s,
                                          max_retries=max_retries)

    async def complete(self, request: CompletionRequest, on_text: TextSink) -> Completion:
        tools = [{"type": "function", "function": {"name": t.name, "description": t.description,
                                                   "parameters": t.schema}} for t in request.tools]
        text: list[str] = []
        calls: dict[int, dict[str, str]] = {}
        try:
            stream = await self._client.chat.completions.create(
                model=self.model, messages=wire_messages(request.system, request.messages), tools=tools or openai.omit,
                max_tokens=request.max_tokens, stream=True)
            async for chunk in stream:
                for choice in chunk.choices or ():
                    delta = choice.delta
                    if delta.content:
                        text.append(delta.content)
                        await on_text(delta.content)
                    for part in delta.tool_calls or ():
                        call = calls.setdefault(part.index, {"id": "", "name": "", "arguments": ""})
                        call["id"] = part.id or call["id"]
                        if part.function is not None:
                            call["name"] += part.function.name or ""
                            call["arguments"] += part.function.arguments or ""
        except (openai.APIError, httpx2.TransportError) as exc:
            raise ProviderError(NAME, http_failure(exc, self._timeout_s), secret=self._key) from None
        tool_calls = tuple(ToolCall(call["id"], call["name"], tool_arguments(call["arguments"]))
                           for _, call in sorted(calls.items()))
        return Completion("".join(text), tool_calls, NAME, self.model)

    async def probe(self) -> None:
        try:
            await self._client.with_options(max_retries=0).chat.completions.create(
                model=self.model, max_tokens=1, messages=[{"role": "user", "content": "ping"}])
        except openai.APIError as exc:
            raise ProviderError(NAME, http_failure(exc, self._timeout_s), secret=self._key) from None

    async def close(self) -> None:
        await self._client.close()

