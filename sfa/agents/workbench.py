"""Where a turn's tool calls run: each is announced on the stream, carried out for the turn's user, and
recorded (the call and its result) for the conversation and the reply's ``actions``."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from sfa.agents.events import AgentStream
from sfa.agents.messages import ASSISTANT, Message, ToolCall
from sfa.agents.tools import Result, ToolContext, call_tool, failed

INTENTS = "intents"


def call_id() -> str:
    return f"call_{secrets.token_hex(8)}"


class Workbench:
    def __init__(self, context: ToolContext, stream: AgentStream, agent: str) -> None:
        self.context = context
        self.stream = stream
        self.agent = agent
        self.messages: list[Message] = []
        self.actions: list[dict[str, Any]] = []

    async def run(self, calls: Sequence[ToolCall]) -> list[Message]:
        """Carry out ``calls`` in order; their result messages, also recorded."""
        results = []
        for call in calls:
            await self.stream.tool(call.name, "running")
            result = await call_tool(self.context, call)
            status = "error" if failed(result) else "ok"
            await self.stream.tool(call.name, status)
            results.append(Message.tool_result(call, result))
            self.actions.append({"tool": call.name, "arguments": call.arguments, "status": status, "result": result})
        self.messages.extend(results)
        return results

    def record(self, message: Message) -> None:
        self.messages.append(message)

    async def use(self, name: str, **arguments: Any) -> Result:
        """One call chosen by the intent parser, recorded as an assistant message that makes it."""
        call = ToolCall(call_id(), name, arguments)
        self.record(Message(ASSISTANT, tool_calls=(call,), agent=self.agent, provider=INTENTS))
        return (await self.run([call]))[0].result
