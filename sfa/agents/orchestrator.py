"""The Orchestrator: reads what a message asks, routes it to a specialist, and runs the turn.

With a language model, the specialist's instructions and tools go to the providers in fallback order, and
tool calls run until the model answers in words (at most ``MAX_TOOL_ROUNDS`` rounds). Without one, or when
every provider fails, the deterministic answers reply to what the tools answer exactly. The reply streams
on the conversation's topic as it is written.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from aiohttp import web

from sfa.accounts import User
from sfa.agents.answers import answer
from sfa.agents.context import trim
from sfa.agents.events import AgentStream
from sfa.agents.intents import parse
from sfa.agents.messages import ASSISTANT, USER, Message, Turn
from sfa.agents.specialists import Specialist, specialist_for
from sfa.agents.tools import ToolContext
from sfa.agents.workbench import INTENTS, Workbench
from sfa.config import Config
from sfa.integrations.llm import CompletionRequest, NoProviderAnswered, Providers, ToolSpec

log = logging.getLogger(__name__)

MAX_TOOL_ROUNDS = 6
TOO_MANY_ROUNDS = "I stopped: this needed more tool calls than one reply may make. Ask for a smaller step."


class Orchestrator:
    def __init__(self, app: web.Application, config: Config, providers: Providers) -> None:
        self.app = app
        self.config = config
        self.providers = providers

    async def turn(self, user: User, history: Sequence[Message], text: str, stream: AgentStream) -> Turn:
        started = time.monotonic()
        intent = parse(text)
        specialist = specialist_for(intent.label)
        bench = Workbench(ToolContext(self.app, user), stream, specialist.name)
        said = Message(USER, text)
        reply, provider, note = None, INTENTS, ""
        if self.providers.configured:
            try:
                reply, provider = await self._converse(specialist, [*history, said], bench)
            except NoProviderAnswered as failure:
                note = f"No language model answered ({failure}), so I answer from my tools alone. "
        if reply is None:
            reply = note + await answer(intent, bench)
            await stream.chunk(reply)
        final = Message(ASSISTANT, reply, agent=specialist.name, provider=provider)
        log.info("agent turn in conversation %s: %s specialist via %s, %d tool calls, %.1f ms",
                 stream.conversation_id, specialist.name, provider, len(bench.actions),
                 (time.monotonic() - started) * 1000)
        return Turn((said, *bench.messages, final), reply, tuple(bench.actions))

    async def _converse(self, specialist: Specialist, messages: list[Message],
                        bench: Workbench) -> tuple[str, str]:
        tools = [ToolSpec(tool.name, tool.description, tool.schema()) for tool in specialist.tools]
        for _ in range(MAX_TOOL_ROUNDS):
            request = CompletionRequest(
                specialist.system_prompt,
                trim(messages, budget_tokens=self.config.llm_context_tokens, system=specialist.system_prompt),
                tools, self.config.llm_max_tokens)
            completion = await self.providers.complete(request, bench.stream.chunk, bench.stream.cut_off)
            if not completion.tool_calls:
                return completion.text, completion.provider
            asked = Message(ASSISTANT, completion.text, completion.tool_calls, agent=specialist.name,
                            provider=completion.provider)
            bench.record(asked)
            messages += [asked, *await bench.run(completion.tool_calls)]
        return TOO_MANY_ROUNDS, INTENTS
