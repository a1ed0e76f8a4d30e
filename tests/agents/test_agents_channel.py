"""``agents:<conversation_id>`` through the real ``phoenix`` JS client: only the owner joins, and a chat's
reply arrives in chunks (with its tool events) before ``agent:done``."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from sfa.config import Config
from sfa.web import make_app
from tests.agents.fake_llm import OPENAI, OPENAI_KEY, Step
from tests.phoenix.conftest import js, node_client  # noqa: F401  (fixtures of the real JS client)

pytestmark = pytest.mark.embedded_only

REPLY = "Here are your newest tracks, fresh from the library and ready to mix."


@pytest.fixture
def config(tmp_path, database_url, llm) -> Config:
    return Config.from_env({
        "SFA_VAR_DIR": str(tmp_path / "var"), "SFA_DATA_DIR": str(tmp_path / "data"), "DATABASE_URL": database_url,
        "SFA_LLM_PROVIDERS": OPENAI, "SFA_OPENAI_API_KEY": OPENAI_KEY, "SFA_OPENAI_BASE_URL": f"{llm.base_url}/v1",
    })


@pytest.fixture
async def server(config, database) -> AsyncIterator[TestServer]:
    async with TestServer(make_app(config, database)) as test_server:
        yield test_server


async def open_conversation(server: TestServer, account) -> int:
    async with ClientSession() as http:
        response = await http.post(server.make_url("/api/agents/conversations"), headers=account.headers)
        return (await response.json())["data"]["id"]


@pytest.mark.parametrize("transport", ["websocket", "longpoll"])
async def test_the_owner_sees_chunks_and_tool_events_before_done(js, server, make_account, llm, transport):  # noqa: F811
    owner = await make_account()
    conversation_id = await open_conversation(server, owner)
    client = await js()
    await client.connect(f"ws://127.0.0.1:{server.port}/socket", transport=transport, params={"token": owner.token})
    topic = f"agents:{conversation_id}"
    assert (await client.join(topic))["status"] == "ok"
    llm.script(OPENAI, Step(tool="recent_tracks"), Step(text=REPLY))

    async with ClientSession() as http:
        response = await http.post(server.make_url("/api/agents/chat"), headers=owner.headers,
                                   json={"message": "what is new in my library?", "conversation_id": conversation_id})
        turn = (await response.json())["data"]

    heard = []
    while not heard or heard[-1]["event"] != "agent:done":
        heard.append(await client.expect(lambda event: event["ev"] == "message" and event["topic"] == topic
                                        and event["event"].startswith("agent:")))
    assert [e["event"] for e in heard[:2]] == ["agent:tool", "agent:tool"]
    chunks = [e["payload"] for e in heard[2:-1]]
    assert len(chunks) > 3 and {e["event"] for e in heard[2:-1]} == {"agent:chunk"}
    assert "".join(chunk["text"] for chunk in chunks) == turn["reply"] == REPLY
    assert heard[-1]["payload"] == {"conversation_id": conversation_id, "message_id": turn["message_id"]}


async def test_someone_else_and_a_missing_conversation_are_unauthorized(js, server, make_account):  # noqa: F811
    owner, stranger = await make_account(), await make_account()
    conversation_id = await open_conversation(server, owner)
    client = await js()
    await client.connect(f"ws://127.0.0.1:{server.port}/socket", params={"token": stranger.token})
    for topic in (f"agents:{conversation_id}", f"agents:{conversation_id + 10_000}", "agents:abc"):
        refused = await client.join(topic)
        assert (refused["status"], refused["response"]) == ("error", {"reason": "unauthorized"}), topic
