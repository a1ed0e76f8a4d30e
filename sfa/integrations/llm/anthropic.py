"""Anthropic's Messages API through the official ``anthropic`` async SDK, streamed."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx2

from sfa.agents.messages import ASSISTANT, TOOL, Message, ToolCall
from sfa.integrations.llm.base import (
    Completion,
    CompletionRequest,
    ProviderError,
    TextSink,
    http_failure,
    tool_arguments,
)

NAME = "anthropic"


def wire_messages(messages: list[Message] | tuple[Message, ...]) -> list[dict[str, Any]]:
    """Our messages as the Messages API takes them: tool results travel in user turns, and turns of the same
    role are merged, since the API expects the roles to alternate."""
    wire: list[dict[str, Any]] = []
    for message in messages:
        role, blocks = _blocks(message)
        if not blocks:
            continue
        if wire and wire[-1]["role"] == role:
            wire[-1]["content"].extend(blocks)
        else:
            wire.append({"role": role, "content": blocks})
    return wire


def _blocks(message: Message) -> tuple[str, list[dict[str, Any]]]:
    if message.role == TOOL:
        return "user", [{"type": "tool_result", "tool_use_id": message.tool_call_id, "content": message.content}]
    text = [{"type": "text", "text": message.content}] if message.content else []
    if message.role == ASSISTANT:
        calls = [{"type": "tool_use", "id": call.id, "name": call.name, "input": call.arguments}
                 for call in message.tool_calls]
        return "assistant", text + calls
    return "user", text


class AnthropicProvider:
    name = NAME

    def __init__(self, *, api_key: str, model: str, base_url: str, timeout_s: float, max_retries: int) -> None:
        self.model = model
        self._key = api_key
        self._timeout_s = timeout_s
        self._client = anthropic.AsyncAnthropic(api_key=api_key, base_url=base_url, timeout=timeout_s,
                                                max_retries=max_retries)

    async def complete(self, request: CompletionRequest, on_text: TextSink) -> Completion:
        tools = [{"name": t.name, "description": t.description, "input_schema": t.schema} for t in request.tools]
        try:
            async with self._client.messages.stream(model=self.model, max_tokens=request.max_tokens,
                                                    system=request.system, tools=tools,
                                                    messages=wire_messages(request.messages)) as stream:
                async for text in stream.text_stream:
                    await on_text(text)
                final = await stream.get_final_message()
        except (anthropic.APIError, httpx2.TransportError) as exc:
            raise ProviderError(NAME, http_failure(exc, self._timeout_s), secret=self._key) from None
        text = "".join(block.text for block in final.content if block.type == "text")
        calls = tuple(ToolCall(block.id, block.name, tool_arguments(block.input))
                      for block in final.content if block.type == "tool_use")
        return Completion(text, calls, NAME, self.model)

    async def probe(self) -> None:
        try:
            await self._client.with_options(max_retries=0).messages.create(
                model=self.model, max_tokens=1, messages=[{"role": "user", "content": "ping"}])
        except anthropic.APIError as exc:
            raise ProviderError(NAME, http_failure(exc, self._timeout_s), secret=self._key) from None

    async def close(self) -> None:
        await self._client.close()

