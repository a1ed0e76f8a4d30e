"""A local server speaking both LLM wire formats the providers use: Anthropic's Messages API
(``POST /v1/messages``, the key in ``x-api-key`` or, as SDK 2.x sends it, ``Authorization: Bearer``; SSE
events ``message_start`` … ``message_stop``) and OpenAI's Chat Completions (``POST /v1/chat/completions``,
``Authorization: Bearer``, ``data:`` chunks ending ``[DONE]``).

Each provider answers from its own script, one :class:`Step` per streamed request: words (sent in several
deltas), a tool call, an HTTP error, a wait longer than the client's timeout, or a stream cut off after its
first word. With the script empty it
says hello. Probes (non-streamed, one token) answer at once unless ``probe_status`` says otherwise. Every
request body is kept in ``requests`` for the test to read.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

ANTHROPIC_KEY = "sk-ant-test-0123456789abcdef-secret"
OPENAI_KEY = "sk-openai-test-fedcba9876543210-secret"
ANTHROPIC, OPENAI = "anthropic", "openai"


@dataclass(frozen=True)
class Step:
    text: str = ""
    tool: str | None = None
    arguments: dict[str, Any] = field(default_factory=dict)
    status: int | None = None
    delay_s: float = 0.0
    error_message: str = "something broke"
    cut_off: bool = False


def words(text: str) -> list[str]:
    """The text in deltas of a word each (with its following space), as models stream."""
    parts = text.split(" ")
    return [part + " " for part in parts[:-1]] + [parts[-1]]


@dataclass
class FakeLLM:
    scripts: dict[str, list[Step]] = field(default_factory=lambda: defaultdict(list))
    requests: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    probe_status: dict[str, int] = field(default_factory=dict)
    base_url: str = ""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/messages", self.messages)
        app.router.add_post("/v1/chat/completions", self.completions)
        return app

    def script(self, provider: str, *steps: Step) -> None:
        self.scripts[provider].extend(steps)

    def streamed(self, provider: str) -> list[dict[str, Any]]:
        return [body for body in self.requests[provider] if body.get("stream")]

    async def _step(self, provider: str, body: dict[str, Any]) -> Step:
        self.requests[provider].append(body)
        if not body.get("stream"):
            return Step(text="p", status=self.probe_status.get(provider))
        step = self.scripts[provider].pop(0) if self.scripts[provider] else Step(text=f"Hello from {provider}.")
        if step.delay_s:
            await asyncio.sleep(step.delay_s)
        return step

    async def messages(self, request: web.Request) -> web.StreamResponse:
        if ANTHROPIC_KEY not in (request.headers.get("x-api-key"), request.headers.get("Authorization", "")[7:]):
            return _anthropic_error(401, "authentication_error", "invalid x-api-key")
        body = await request.json()
        step = await self._step(ANTHROPIC, body)
        if step.status:
            return _anthropic_error(step.status, "rate_limit_error" if step.status == 429 else "api_error",
                                    step.error_message)
        content = [{"type": "text", "text": step.text}] if step.text else []
        if step.tool:
            content.append({"type": "tool_use", "id": f"toolu_{len(self.requests[ANTHROPIC])}", "name": step.tool,
                            "input": step.arguments})
        message = {"id": "msg_1", "type": "message", "role": "assistant", "model": body["model"], "content": content,
                   "stop_reason": "tool_use" if step.tool else "end_turn", "stop_sequence": None,
                   "usage": {"input_tokens": 10, "output_tokens": 5}}
        if not body.get("stream"):
            return web.json_response(message)
        response = await _sse(request)
        await _event(response, "message_start", {"type": "message_start", "message": message | {"content": []}})
        for index, block in enumerate(content):
            if block["type"] == "text":
                await _event(response, "content_block_start", {"type": "content_block_start", "index": index,
                                                               "content_block": {"type": "text", "text": ""}})
                for part in words(block["text"]):
                    await _event(response, "content_block_delta", {"type": "content_block_delta", "index": index,
                                                                   "delta": {"type": "text_delta", "text": part}})
                    if step.cut_off:
                        return _cut(request, response)
            else:
                await _event(response, "content_block_start", {"type": "content_block_start", "index": index,
                                                               "content_block": block | {"input": {}}})
                await _event(response, "content_block_delta", {"type": "content_block_delta", "index": index, "delta": {
                    "type": "input_json_delta", "partial_json": json.dumps(block["input"])}})
            await _event(response, "content_block_stop", {"type": "content_block_stop", "index": index})
        await _event(response, "message_delta", {"type": "message_delta", "delta": {
            "stop_reason": message["stop_reason"], "stop_sequence": None}, "usage": {"output_tokens": 5}})
        await _event(response, "message_stop", {"type": "message_stop"})
        return response

    async def completions(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {OPENAI_KEY}":
            return _openai_error(401, "invalid api key")
        body = await request.json()
        step = await self._step(OPENAI, body)
        if step.status:
            return _openai_error(step.status, step.error_message)
        if not body.get("stream"):
            return web.json_response({"id": "c1", "object": "chat.completion", "created": 0, "model": body["model"],
                                      "choices": [{"index": 0, "message": {"role": "assistant", "content": step.text},
                                                   "finish_reason": "length"}],
                                      "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})
        response = await _sse(request)
        deltas: list[dict[str, Any]] = [{"role": "assistant", "content": part} for part in words(step.text)] \
            if step.text else []
        if step.tool:
            call_id = f"call_{len(self.requests[OPENAI])}"
            arguments = json.dumps(step.arguments)
            deltas += [{"tool_calls": [{"index": 0, "id": call_id, "type": "function",
                                        "function": {"name": step.tool, "arguments": ""}}]},
                       {"tool_calls": [{"index": 0, "function": {"arguments": arguments[:5]}}]},
                       {"tool_calls": [{"index": 0, "function": {"arguments": arguments[5:]}}]}]
        finish = "tool_calls" if step.tool else "stop"
        for n, delta in enumerate([*deltas, {}]):
            chunk = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": body["model"],
                     "choices": [{"index": 0, "delta": delta, "finish_reason": finish if n == len(deltas) else None}]}
            await response.write(f"data: {json.dumps(chunk)}\n\n".encode())
            if step.cut_off:
                return _cut(request, response)
        await response.write(b"data: [DONE]\n\n")
        return response


async def _sse(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    await response.prepare(request)
    return response


def _cut(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
    """End the connection in the middle of the chunked body, as a crashed upstream would."""
    request.transport.close()
    return response


async def _event(response: web.StreamResponse, name: str, data: dict[str, Any]) -> None:
    await response.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())


def _anthropic_error(status: int, kind: str, message: str) -> web.Response:
    return web.json_response({"type": "error", "error": {"type": kind, "message": message}}, status=status)


def _openai_error(status: int, message: str) -> web.Response:
    return web.json_response({"error": {"message": message, "type": "server_error", "param": None, "code": None}},
                             status=status)
