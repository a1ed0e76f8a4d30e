"""The providers through their real SDK clients against the fake LLM server: streamed tool calls in both
wire formats, fallback on a 500, a 429 or a timeout, the health report, and keys that never leak."""

from __future__ import annotations

import json
import logging

import pytest

from sfa.config import Config
from sfa.pubsub import Broadcast
from sfa.web.keys import PUBSUB
from tests.agents.fake_llm import ANTHROPIC, ANTHROPIC_KEY, OPENAI, OPENAI_KEY, Step

ORDERS = [(ANTHROPIC, OPENAI), (OPENAI, ANTHROPIC)]


@pytest.fixture(params=ORDERS, ids=lambda order: f"{order[0]}-first")
def order(request) -> tuple[str, str]:
    return request.param


@pytest.fixture
def config(tmp_path, database_url, llm, order) -> Config:
    return Config.from_env({
        "SFA_VAR_DIR": str(tmp_path / "var"), "SFA_DATA_DIR": str(tmp_path / "data"), "DATABASE_URL": database_url,
        "SFA_LLM_PROVIDERS": ",".join(order), "SFA_ANTHROPIC_API_KEY": ANTHROPIC_KEY,
        "SFA_ANTHROPIC_BASE_URL": llm.base_url, "SFA_ANTHROPIC_MODEL": "claude-test",
        "SFA_OPENAI_API_KEY": OPENAI_KEY, "SFA_OPENAI_BASE_URL": f"{llm.base_url}/v1", "SFA_OPENAI_MODEL": "gpt-test",
        "SFA_LLM_TIMEOUT_S": "1", "SFA_LLM_MAX_RETRIES": "1",
    })


async def conversation(client, account, conversation_id: int) -> list[dict]:
    response = await client.get(f"/api/agents/conversations/{conversation_id}", headers=account.headers)
    return (await response.json())["data"]["messages"]


def tool_names(body: dict) -> set[str]:
    """The tools a request offered, in either wire format."""
    return {tool.get("name") or tool["function"]["name"] for tool in body["tools"]}


def tool_results_sent(body: dict) -> list[str]:
    """The tool results a request carried, in either wire format."""
    if "system" in body:
        return [block["content"] for message in body["messages"] if isinstance(message["content"], list)
                for block in message["content"] if block["type"] == "tool_result"]
    return [message["content"] for message in body["messages"] if message["role"] == "tool"]


async def test_a_tool_call_then_a_streamed_reply_in_each_wire_format(make_account, add_track, chat, client, llm,
                                                                       order):
    first = order[0]
    owner = await make_account()
    track_id = await add_track(owner, "One More Time", "Daft Punk", key="F# minor", tempo=122.5)
    llm.script(first, Step(text="Let me look.", tool="get_analysis", arguments={"track_id": track_id}),
               Step(text="It is in F# minor at 122.5 BPM."))

    status, body = await chat(owner, f"what key is track {track_id} in?")

    assert status == 200
    turn = body["data"]
    assert turn["reply"] == "It is in F# minor at 122.5 BPM."
    assert [(a["tool"], a["status"], a["arguments"]) for a in turn["actions"]] == [
        ("get_analysis", "ok", {"track_id": track_id})]
    requests = llm.streamed(first)
    assert len(requests) == 2 and llm.streamed(order[1]) == []
    assert tool_names(requests[0]) == {"search_tracks", "recent_tracks", "get_track", "get_analysis"}
    assert json.loads(tool_results_sent(requests[1])[0])["analysis"]["key"] == "F# minor"

    messages = await conversation(client, owner, turn["conversation_id"])
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "assistant"]
    assert messages[1]["tool_calls"][0]["name"] == "get_analysis" and messages[1]["provider"] == first
    assert messages[2]["tool_call_id"] == messages[1]["tool_calls"][0]["id"]
    assert (messages[3]["content"], messages[3]["provider"], messages[3]["agent"]) == (turn["reply"], first,
                                                                                       "analysis")


async def test_the_reply_streams_on_the_conversation_topic_before_done(make_account, chat, client, llm, order):
    owner = await make_account()
    created = await client.post("/api/agents/conversations", headers=owner.headers)
    conversation_id = (await created.json())["data"]["id"]
    heard: list[Broadcast] = []
    client.app[PUBSUB].subscribe(f"agents:{conversation_id}", heard.append)
    llm.script(order[0], Step(tool="recent_tracks"), Step(text="Your library is empty for now."))

    _, body = await chat(owner, "tell me about my library", conversation_id)

    events = [event.event for event in heard]
    assert events[:2] == ["agent:tool", "agent:tool"] and events[-1] == "agent:done"
    assert [e.payload for e in heard[:2]] == [{"name": "recent_tracks", "status": "running"},
                                              {"name": "recent_tracks", "status": "ok"}]
    chunks = [e.payload for e in heard if e.event == "agent:chunk"]
    assert len(chunks) > 1 and all(c["conversation_id"] == conversation_id for c in chunks)
    assert "".join(c["text"] for c in chunks) == body["data"]["reply"] == "Your library is empty for now."
    assert heard[-1].payload == {"conversation_id": conversation_id, "message_id": body["data"]["message_id"]}


@pytest.mark.parametrize("failure", [Step(status=500), Step(status=429), Step(delay_s=3)],
                         ids=["500", "429", "timeout"])
async def test_the_fallback_answers_when_the_first_provider_fails(make_account, chat, client, llm, order, failure,
                                                                  caplog):
    first, second = order
    owner, admin = await make_account(), await make_account("admin")
    llm.script(first, failure, failure)
    llm.script(second, Step(text="The fallback answers."))

    with caplog.at_level(logging.DEBUG):
        _, body = await chat(owner, "hello there")
        health = await (await client.get("/api/admin/llm/health", headers=admin.headers)).json()

    assert body["data"]["reply"] == "The fallback answers."
    assert len(llm.streamed(first)) == 2, "one try and one bounded retry"
    messages = await conversation(client, owner, body["data"]["conversation_id"])
    assert [(m["role"], m["provider"]) for m in messages] == [("user", None), ("assistant", second)]
    reported = {p["name"]: p for p in health["data"]["providers"]}
    expected = "timed out after 1 s" if failure.delay_s else f"HTTP {failure.status}"
    assert expected in reported[first]["last_error"] and reported[first]["last_error_at"]
    assert reported[second]["last_error"] is None
    for text in (json.dumps(body), json.dumps(health), caplog.text):
        assert ANTHROPIC_KEY not in text and OPENAI_KEY not in text


async def test_a_reply_cut_off_midway_falls_back_and_only_the_whole_answer_is_stored(make_account, chat, client,
                                                                                     llm, order):
    first, second = order
    owner = await make_account()
    llm.script(first, Step(text="Half of an answer that never ends", cut_off=True))
    llm.script(second, Step(text="A whole answer."))
    created = await client.post("/api/agents/conversations", headers=owner.headers)
    conversation_id = (await created.json())["data"]["id"]
    heard: list[Broadcast] = []
    client.app[PUBSUB].subscribe(f"agents:{conversation_id}", heard.append)

    _, body = await chat(owner, "hello there", conversation_id)

    assert body["data"]["reply"] == "A whole answer."
    restart = next(n for n, e in enumerate(heard) if e.event == "agent:error")
    assert heard[restart].payload["error"].startswith(f"{first}: ")
    assert heard[restart].payload["error"].endswith("; the reply starts over")
    assert "".join(e.payload["text"] for e in heard[:restart]) == "Half "
    assert "".join(e.payload["text"] for e in heard[restart + 1:-1]) == "A whole answer."
    assert heard[-1].event == "agent:done"
    assert len(llm.streamed(first)) == 1
    messages = await conversation(client, owner, body["data"]["conversation_id"])
    assert [(m["role"], m["content"], m["provider"]) for m in messages] == [
        ("user", "hello there", None), ("assistant", "A whole answer.", second)]


async def test_when_every_provider_fails_the_tools_still_answer_and_nothing_is_half_written(
        make_account, add_track, chat, client, llm, order):
    owner = await make_account()
    track_id = await add_track(owner, "Night Drive", key="D minor", tempo=100.0)
    for provider, key in ((ANTHROPIC, ANTHROPIC_KEY), (OPENAI, OPENAI_KEY)):
        echo = Step(status=500, error_message=f"upstream rejected the key {key}")
        llm.script(provider, echo, echo)

    _, body = await chat(owner, f"what key is track {track_id} in")

    reply = body["data"]["reply"]
    assert reply.startswith("No language model answered") and "D minor" in reply
    assert ANTHROPIC_KEY not in reply and OPENAI_KEY not in reply and reply.count("[redacted]") == 2
    messages = await conversation(client, owner, body["data"]["conversation_id"])
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "assistant"]
    assert messages[-1]["provider"] == "intents" and messages[-1]["content"] == reply


async def test_a_model_asking_for_another_users_track_gets_not_found(make_account, add_track, chat, client, llm,
                                                                     order, database):
    owner, stranger = await make_account("pro"), await make_account("pro")
    secret = await add_track(owner, "Unreleased", key="E minor", tempo=90.0)
    llm.script(order[0], Step(tool="get_track", arguments={"track_id": secret}),
               Step(tool="start_separation", arguments={"track_id": secret}), Step(text="I cannot see that track."))

    _, body = await chat(stranger, "separate something")

    assert [a["result"] for a in body["data"]["actions"]] == [
        {"error": f"you have no track {secret}", "code": "NOT_FOUND"},
        {"error": "track not found", "code": "NOT_FOUND"}]
    for request in llm.streamed(order[0])[1:]:
        assert "Unreleased" not in json.dumps(request) and "E minor" not in json.dumps(request)
    assert await database.pool.fetchval("SELECT count(*) FROM jobs WHERE track_id = $1", secret) == 0


async def test_health_reports_each_provider_and_caches_the_probe(make_account, client, llm, order):
    admin, user = await make_account("admin"), await make_account()
    llm.probe_status[order[1]] = 503

    first = await (await client.get("/api/admin/llm/health", headers=admin.headers)).json()
    again = await (await client.get("/api/admin/llm/health", headers=admin.headers)).json()

    reported = {p["name"]: p for p in first["data"]["providers"]}
    assert first["data"]["fallback_order"] == list(order) and first["data"]["configured"] is True
    ok, down = reported[order[0]], reported[order[1]]
    assert (ok["configured"], ok["reachable"], ok["last_error"]) == (True, True, None)
    assert ok["model"] in ("claude-test", "gpt-test") and ok["latency_ms"] >= 0
    assert (down["reachable"], down["latency_ms"]) == (False, None) and "HTTP 503" in down["last_error"]
    assert again["data"] == first["data"]
    assert [len(llm.requests[name]) for name in order] == [1, 1], "the second report reused the probes"
    forbidden = await client.get("/api/admin/llm/health", headers=user.headers)
    assert forbidden.status == 403
