"""``/api/agents`` without any LLM provider: the deterministic intent parser answers from the caller's own
tracks through the tools, every call stored with the conversation; conversations are per user."""

from __future__ import annotations

from aiohttp.test_utils import TestClient, TestServer

from sfa.agents.answers import NEEDS_PROVIDER
from sfa.config import RateLimit
from sfa.web import make_app


async def test_the_key_of_my_last_import_comes_from_its_stored_analysis(make_account, add_track, chat, client):
    owner = await make_account()
    await add_track(owner, "Older", key="C major", tempo=120.0)
    newest = await add_track(owner, "One More Time", "Daft Punk", key="F# minor", tempo=122.5)

    status, body = await chat(owner, "What key is my last import in?")

    assert status == 200
    turn = body["data"]
    assert "F# minor" in turn["reply"] and "122.5 BPM" in turn["reply"] and "One More Time" in turn["reply"]
    assert [(a["tool"], a["status"]) for a in turn["actions"]] == [("recent_tracks", "ok"), ("get_analysis", "ok")]
    assert turn["actions"][1]["arguments"] == {"track_id": newest}

    url = f"/api/agents/conversations/{turn['conversation_id']}"
    shown = await (await client.get(url, headers=owner.headers)).json()
    messages = shown["data"]["messages"]
    assert [(m["role"], m["name"] or next((c["name"] for c in m["tool_calls"]), None)) for m in messages] == [
        ("user", None), ("assistant", "recent_tracks"), ("tool", "recent_tracks"), ("assistant", "get_analysis"),
        ("tool", "get_analysis"), ("assistant", None)]
    assert messages[2]["tool_call_id"] == messages[1]["tool_calls"][0]["id"]
    assert messages[4]["result"]["analysis"]["key"] == "F# minor"
    assert messages[-1]["id"] == turn["message_id"] and messages[-1]["content"] == turn["reply"]
    assert (messages[-1]["agent"], messages[-1]["provider"]) == ("analysis", "intents")
    assert shown["data"]["title"] == "What key is my last import in?"


async def test_a_track_without_analysis_is_said_to_be_unanalysed(make_account, add_track, chat):
    owner = await make_account()
    track_id = await add_track(owner, "Raw Demo")

    _, body = await chat(owner, f"what's the tempo of track {track_id}?")

    reply = body["data"]["reply"]
    assert "unanalysed" in reply and "Raw Demo" in reply and "BPM" not in reply

    _, mixing = await chat(owner, f"what mixes well after track {track_id}")
    assert "unanalysed" in mixing["data"]["reply"]
    assert mixing["data"]["actions"][0]["result"]["code"] == "UNANALYSED"


async def test_mixing_suggestions_are_compatible_keys_in_the_tempo_window_ranked(make_account, add_track, chat):
    owner = await make_account()
    home = await add_track(owner, "Home", key="A minor", tempo=124.0)
    same_key_far = await add_track(owner, "Same key, 5% faster", key="A minor", tempo=130.2)
    same_key_near = await add_track(owner, "Same key, near", key="A minor", tempo=124.5)
    relative = await add_track(owner, "Relative major", key="C major", tempo=124.0)
    neighbour = await add_track(owner, "Neighbour", key="E minor", tempo=123.0)
    await add_track(owner, "Clashing key", key="F major", tempo=124.0)
    await add_track(owner, "Too slow", key="A minor", tempo=100.0)
    await add_track(owner, "Unanalysed")

    _, body = await chat(owner, f"What in my library mixes well after track {home}?")

    result = body["data"]["actions"][0]["result"]
    assert result["track"]["camelot"] == "8A"
    assert result["compatible_keys"] == ["8A", "9A", "7A", "8B"]
    assert [s["id"] for s in result["suggestions"]] == [same_key_near, same_key_far, relative, neighbour]
    assert result["unanalysed_tracks"] == 1
    reply = body["data"]["reply"]
    assert reply.index("Same key, near") < reply.index("Relative major") and "Clashing key" not in reply


async def test_a_user_asking_for_a_separation_gets_the_pro_refusal_and_no_job(make_account, add_track, chat,
                                                                              database):
    user = await make_account("user")
    await add_track(user, "Around the World", "Daft Punk", key="A minor", tempo=121.0)

    _, body = await chat(user, "separate the vocals of the Daft Punk track")

    separation = body["data"]["actions"][-1]
    assert separation["tool"] == "start_separation"
    assert separation["result"] == {"error": "requires the pro role or higher", "code": "FORBIDDEN"}
    assert "requires the pro role" in body["data"]["reply"]
    assert await database.pool.fetchval("SELECT count(*) FROM jobs WHERE user_id = $1", user.user.id) == 0


async def test_a_pro_gets_the_separation_job_and_its_id(make_account, add_track, chat, client):
    pro = await make_account("pro")
    track_id = await add_track(pro, "Around the World", "Daft Punk")

    _, body = await chat(pro, "separate the vocals of the Daft Punk track")

    started = body["data"]["actions"][-1]["result"]
    assert started["track_id"] == track_id and started["job_type"] == "processing"
    assert f"job {started['job_id']}" in body["data"]["reply"]
    job = await (await client.get(f"/api/processing/job/{started['job_id']}", headers=pro.headers)).json()
    assert (job["data"]["track_id"], job["data"]["model"], job["data"]["status"]) == (track_id, "htdemucs", "queued")


async def test_analysis_and_import_jobs_start_through_the_api_paths(make_account, add_track, chat, client):
    owner = await make_account()
    track_id = await add_track(owner, "Fresh")

    _, analysed = await chat(owner, f"analyse track {track_id}")
    _, imported = await chat(owner, "import https://music.example.com/tracks/Night%20Drive.flac")

    analysis_job = analysed["data"]["actions"][0]["result"]
    job = await (await client.get(f"/api/analysis/job/{analysis_job['job_id']}", headers=owner.headers)).json()
    assert job["data"]["track_id"] == track_id
    download = imported["data"]["actions"][0]["result"]
    track = await (await client.get(f"/api/tracks/{download['track_id']}", headers=owner.headers)).json()
    assert track["data"]["title"] == "Night Drive" and f"job {download['job_id']}" in imported["data"]["reply"]


async def test_job_starting_tools_count_against_the_heavy_rate_limit(make_account, add_track, config, database):
    owner = await make_account()
    track_id = await add_track(owner, "Fresh")
    app = make_app(config.replace(rate_heavy=RateLimit(1, 60)), database)

    async with TestClient(TestServer(app)) as client:
        for expected in ("ok", "error"):
            response = await client.post("/api/agents/chat", json={"message": f"analyse track {track_id}"},
                                         headers=owner.headers)
            action = (await response.json())["data"]["actions"][0]
            assert action["status"] == expected
    assert action["result"]["code"] == "RATE_LIMITED" and action["result"]["retry_after"] >= 1


async def test_tools_never_reach_another_users_track(make_account, add_track, chat, database):
    owner, stranger = await make_account("pro"), await make_account("pro")
    secret = await add_track(owner, "Unreleased", "Owner", key="D minor", tempo=128.0)

    _, asked = await chat(stranger, f"what key is track {secret} in")
    assert asked["data"]["actions"][0]["result"] == {"error": f"you have no track {secret}", "code": "NOT_FOUND"}
    for message in ( f"what mixes after track {secret}",
                    f"separate track {secret}", f"analyse track {secret}", f"tell me about track {secret}"):
        _, body = await chat(stranger, message)
        assert body["data"]["actions"][-1]["result"]["code"] == "NOT_FOUND", message
        assert "D minor" not in body["data"]["reply"] and "Unreleased" not in body["data"]["reply"]
    _, found = await chat(stranger, "find tracks by Owner")
    assert found["data"]["actions"][0]["result"]["total"] == 0
    assert await database.pool.fetchval("SELECT count(*) FROM jobs WHERE track_id = $1", secret) == 0


async def test_open_conversation_says_plainly_that_it_needs_a_provider(make_account, chat):
    _, body = await chat(await make_account(), "Tell me a joke about drummers")
    assert body["data"]["reply"] == NEEDS_PROVIDER and body["data"]["actions"] == []


async def test_conversations_are_listed_newest_first_and_private(make_account, chat, client):
    owner, stranger = await make_account(), await make_account()
    first = (await chat(owner, "first thread"))[1]["data"]["conversation_id"]
    second = (await chat(owner, "second thread"))[1]["data"]["conversation_id"]
    await chat(owner, "back to the first", first)

    listed = await (await client.get("/api/agents/conversations?page_size=1", headers=owner.headers)).json()
    assert [c["id"] for c in listed["data"]] == [first]
    assert listed["meta"] == {"page": 1, "page_size": 1, "total_count": 2, "total_pages": 2}
    assert listed["data"][0]["title"] == "first thread" and listed["data"][0]["last_message_at"]
    page_two = await (await client.get("/api/agents/conversations?page=2&page_size=1", headers=owner.headers)).json()
    assert [c["id"] for c in page_two["data"]] == [second]

    theirs = await client.get("/api/agents/conversations", headers=stranger.headers)
    assert (await theirs.json())["data"] == []
    for method in ("GET", "DELETE"):
        response = await client.request(method, f"/api/agents/conversations/{first}", headers=stranger.headers)
        assert (response.status, (await response.json())["code"]) == (404, "NOT_FOUND")
    status, body = await chat(stranger, "hello", first)
    assert (status, body["code"]) == (404, "NOT_FOUND")

    deleted = await client.delete(f"/api/agents/conversations/{first}", headers=owner.headers)
    assert deleted.status == 204
    gone = await client.get(f"/api/agents/conversations/{first}", headers=owner.headers)
    assert gone.status == 404


async def test_an_empty_conversation_can_be_opened_before_the_first_message(make_account, chat, client):
    owner = await make_account()
    created = await client.post("/api/agents/conversations", headers=owner.headers)
    conversation = (await created.json())["data"]
    assert created.status == 201 and conversation["title"] == "" and conversation["messages"] == []

    _, body = await chat(owner, "show my tracks", conversation["id"])
    shown = await (await client.get(f"/api/agents/conversations/{conversation['id']}", headers=owner.headers)).json()
    assert body["data"]["conversation_id"] == conversation["id"] and shown["data"]["title"] == "show my tracks"


async def test_bad_chat_input_is_a_422_with_details(make_account, client):
    owner = await make_account()
    cases = [({}, {"message"}), ({"message": "  "}, {"message"}), ({"message": "x" * 4001}, {"message"}),
             ({"message": "hi", "conversation_id": "07"}, {"conversation_id"}),
             ({"message": "hi", "conversation_id": 7.5}, {"conversation_id"}),
             ({"message": "hi", "conversation_id": True}, {"conversation_id"}),
             ({"message": 3, "extra": 1}, {"message", "extra"})]
    for body, fields in cases:
        response = await client.post("/api/agents/chat", json=body, headers=owner.headers)
        answer = await response.json()
        assert (response.status, answer["code"], set(answer["details"])) == (422, "VALIDATION_ERROR", fields), body
    malformed = await client.post("/api/agents/chat", data="{", headers=owner.headers)
    assert (malformed.status, (await malformed.json())["code"]) == (400, "BAD_REQUEST")
    anonymous = await client.post("/api/agents/chat", json={"message": "hi"})
    assert anonymous.status == 401


async def test_without_keys_the_health_report_lists_each_provider_unconfigured(make_account, client):
    admin = await make_account("admin")
    report = await (await client.get("/api/admin/llm/health", headers=admin.headers)).json()
    assert report["data"] == {"configured": False, "fallback_order": ["anthropic", "openai"], "providers": [
        {"name": "anthropic", "configured": False, "reachable": None, "model": "claude-sonnet-4-5", "latency_ms": None,
         "last_error": None, "last_error_at": None},
        {"name": "openai", "configured": False, "reachable": None, "model": "gpt-4o-mini", "latency_ms": None,
         "last_error": None, "last_error_at": None}]}
