"""Trimming a conversation to a budget: oldest units first, tool calls with their results, referenced tool
results kept, the newest message always."""

from __future__ import annotations

from sfa.agents.context import TRIMMED, estimate_tokens, message_tokens, trim
from sfa.agents.messages import ASSISTANT, USER, Message, ToolCall

SYSTEM = "You are a helpful assistant."


def exchange(n: int, words: int = 200) -> list[Message]:
    return [Message(USER, f"question {n} " + "word " * words), Message(ASSISTANT, f"answer {n} " + "word " * words)]


def tool_exchange(track_id: int) -> list[Message]:
    call = ToolCall(f"call_{track_id}", "search_tracks", {"query": "daft"})
    return [Message(USER, "find daft punk"), Message(ASSISTANT, tool_calls=(call,)),
            Message.tool_result(call, {"total": 1, "tracks": [{"id": track_id, "title": "Around the World"}]}),
            Message(ASSISTANT, "I found one track.")]


def test_everything_is_kept_when_it_fits():
    messages = exchange(1) + exchange(2)
    assert trim(messages, budget_tokens=100_000, system=SYSTEM) == messages


def test_the_oldest_messages_go_first_and_the_newest_always_stays():
    messages = exchange(1) + exchange(2) + exchange(3) + [Message(USER, "now? " + "word " * 2000)]
    budget = estimate_tokens(SYSTEM) + sum(map(message_tokens, messages[-3:]))

    kept = trim(messages, budget_tokens=budget, system=SYSTEM)

    assert kept == [TRIMMED, *messages[-3:]]
    assert trim(messages, budget_tokens=10, system=SYSTEM)[-1] == messages[-1]


def test_a_tool_call_and_its_results_stay_together_and_a_referenced_result_is_kept():
    messages = tool_exchange(12) + exchange(1) + exchange(2) + [Message(USER, "separate track 12 please")]
    newest = messages[-3:]
    budget = (estimate_tokens(SYSTEM) + sum(map(message_tokens, newest))
              + sum(map(message_tokens, messages[1:3])) + 5)

    kept = trim(messages, budget_tokens=budget, system=SYSTEM)

    assert kept == [TRIMMED, messages[1], messages[2], *newest]


def test_an_unreferenced_tool_result_goes_with_its_turn():
    messages = tool_exchange(12) + exchange(1) + exchange(2) + [Message(USER, "and track 7?")]
    budget = estimate_tokens(SYSTEM) + sum(map(message_tokens, messages[-3:])) + 200

    kept = trim(messages, budget_tokens=budget, system=SYSTEM)

    assert all(not m.tool_calls and m.role != "tool" for m in kept)
    assert kept[-3:] == messages[-3:]
