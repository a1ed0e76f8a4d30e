"""Every /api, /export and /files route against every kind of caller.

Each route the app serves there must have a rule in MATRIX (a new route without one fails here). A rule
says the lowest role it needs (None: no credentials at all) and, for routes about one object, that the
object belongs to the `user` caller: every other caller, admins included, then gets 404, never 403 and
never the object's data.
Paths and bodies name the objects with `{track}`, `{job}`, `{download_job}`, `{analysis_job}`,
`{processing_job}`, `{stem}`, `{conversation}`, `{user_id}`, filled in from objects the `user` caller really
created.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import FormData

from sfa.accounts import at_least, revoke_api_token
from sfa.jobs import enqueue
from sfa.separation.job import PROCESSING_KIND
from tests.tracks.audio import audio_bytes

PREFIXES = ("/api/", "/export/", "/files/")
CALLERS = ("anonymous", "bad_token", "revoked", "suspended", "user", "other_user", "pro", "admin")
UPLOAD = "upload"


@dataclass(frozen=True)
class Rule:
    path: str
    minimum: str | None = "user"
    owned: bool = False
    body: Any = None
    success: int = 200


MATRIX: dict[tuple[str, str], Rule] = {
    ("GET", "/api/admin/users"): Rule("/api/admin/users", "admin"),
    ("PATCH", "/api/admin/users/{id}"): Rule("/api/admin/users/{user_id}", "admin", body={"status": "active"}),
    # The app under test runs no supervision tree, so an admin gets 503; tests/actors cover the 200.
    ("GET", "/api/admin/supervisors"): Rule("/api/admin/supervisors", "admin", success=503),
    ("GET", "/api/admin/jobs"): Rule("/api/admin/jobs", "admin"),
    ("GET", "/api/tracks"): Rule("/api/tracks"),
    ("POST", "/api/tracks"): Rule("/api/tracks", body=UPLOAD, success=201),
    ("GET", "/api/tracks/{id}"): Rule("/api/tracks/{track}", owned=True),
    ("PATCH", "/api/tracks/{id}"): Rule("/api/tracks/{track}", owned=True, body={"title": "Renamed"}),
    ("DELETE", "/api/tracks/{id}"): Rule("/api/tracks/{track}", owned=True, success=204),
    ("GET", "/api/jobs"): Rule("/api/jobs"),
    ("GET", "/api/jobs/{id}"): Rule("/api/jobs/{job}", owned=True),
    ("DELETE", "/api/jobs/{id}"): Rule("/api/jobs/{job}", owned=True),
    ("POST", "/api/download/track"): Rule("/api/download/track", body={"url": "http://127.0.0.1:9/a.mp3"},
                                          success=201),
    ("GET", "/api/download/job/{id}"): Rule("/api/download/job/{download_job}", owned=True),
    ("POST", "/api/analysis/analyze"): Rule("/api/analysis/analyze", owned=True, body={"track_id": "{track}"},
                                            success=201),
    ("GET", "/api/analysis/job/{id}"): Rule("/api/analysis/job/{analysis_job}", owned=True),
    ("GET", "/api/analysis/{track_id}"): Rule("/api/analysis/{track}", owned=True),
    ("GET", "/export/stem/{id}"): Rule("/export/stem/{stem}", owned=True),
    ("GET", "/export/stems/{track_id}"): Rule("/export/stems/{track}", owned=True),
    ("GET", "/export/analysis/{track_id}"): Rule("/export/analysis/{track}", owned=True),
    ("GET", "/files/{path}"): Rule("/files/tracks/{track}/original.wav", owned=True),
    ("GET", "/api/processing/models"): Rule("/api/processing/models"),
    ("POST", "/api/processing/separate"): Rule("/api/processing/separate", "pro", owned=True,
                                               body={"track_id": "{track}"}, success=201),
    ("GET", "/api/processing/job/{id}"): Rule("/api/processing/job/{processing_job}", owned=True),
    # The app under test has no lalal.ai key, so a caller allowed through gets 503; tests/lalalai cover 200.
    ("GET", "/api/lalalai/quota"): Rule("/api/lalalai/quota", "pro", success=503),
    ("POST", "/api/lalalai/cancel"): Rule("/api/lalalai/cancel", "pro", body={"task_ids": ["t"]}, success=503),
    ("POST", "/api/lalalai/cancel-all"): Rule("/api/lalalai/cancel-all", "admin", success=503),
    ("GET", "/api/agents/conversations"): Rule("/api/agents/conversations"),
    ("POST", "/api/agents/conversations"): Rule("/api/agents/conversations", success=201),
    ("GET", "/api/agents/conversations/{id}"): Rule("/api/agents/conversations/{conversation}", owned=True),
    ("DELETE", "/api/agents/conversations/{id}"): Rule("/api/agents/conversations/{conversation}", owned=True,
                                                       success=204),
    ("POST", "/api/agents/chat"): Rule("/api/agents/chat", owned=True,
                                       body={"message": "show my tracks", "conversation_id": "{conversation}"}),
    # No LLM provider is configured in the app under test: the report says so without any network call.
    ("GET", "/api/admin/llm/health"): Rule("/api/admin/llm/health", "admin"),
    ("GET", "/api/openapi.json"): Rule("/api/openapi.json", None),
    # The app under test has no Spotify client id, so a caller allowed through gets 503; tests/spotify cover 200.
    ("GET", "/api/spotify/search"): Rule("/api/spotify/search?q=x", success=503),
    ("GET", "/api/spotify/track/{spotify_id}"): Rule("/api/spotify/track/4uLU6hMCjMI75M1A2tKUQC", success=503),
    ("POST", "/api/spotify/fetch"): Rule("/api/spotify/fetch", body={"url": "spotify:track:4uLU6hMCjMI75M1A2tKUQC"},
                                         success=503),
    ("POST", "/api/spotify/import"): Rule("/api/spotify/import", body={"url": "spotify:track:4uLU6hMCjMI75M1A2tKUQC"},
                                          success=503),
}


def expected(rule: Rule, caller: str) -> int:
    if rule.minimum is None:
        return rule.success
    if caller in ("anonymous", "bad_token", "revoked"):
        return 401
    if caller == "suspended":
        return 403
    role = {"user": "user", "other_user": "user", "pro": "pro", "admin": "admin"}[caller]
    if not at_least(role, rule.minimum):
        return 403
    if rule.owned and caller != "user":
        return 404
    return rule.success


def served_routes(app) -> set[tuple[str, str]]:
    return {(route.method, route.resource.canonical) for route in app.router.routes()
            if route.method != "HEAD" and route.resource.canonical.startswith(PREFIXES)}


def test_every_route_has_a_rule(app):
    missing = served_routes(app) - set(MATRIX)
    assert not missing, f"add these routes to MATRIX: {sorted(missing)}"


async def created(response) -> dict:
    assert response.status == 201, await response.text()
    return (await response.json())["data"]


def upload_form() -> FormData:
    form = FormData()
    form.add_field("file", audio_bytes("wav", 0.5), filename="song.wav", content_type="audio/wav")
    return form


@pytest.fixture
async def callers(client, database, config, make_account):
    """Headers per caller, and the ids of objects the `user` caller owns: a track with its file, stems and
    analysis, a download job and an analysis job."""
    accounts = {name: await make_account(role) for name, role in
                (("user", "user"), ("other_user", "user"), ("pro", "pro"), ("admin", "admin"),
                 ("revoked", "admin"))}
    accounts["suspended"] = await make_account("admin", status="suspended")
    token_id = await database.pool.fetchval("SELECT id FROM api_tokens WHERE user_id = $1",
                                            accounts["revoked"].user.id)
    await revoke_api_token(database, accounts["revoked"].user.id, token_id)
    headers = {name: account.headers for name, account in accounts.items()}
    headers["anonymous"] = {}
    headers["bad_token"] = {"Authorization": "Bearer sfa_" + "0" * 43}

    owner = headers["user"]
    track = await created(await client.post("/api/tracks", data=upload_form(), headers=owner))
    stem_path = f"tracks/{track['id']}/stems/vocals.wav"
    (config.data_dir / stem_path).parent.mkdir(parents=True, exist_ok=True)
    (config.data_dir / stem_path).write_bytes(audio_bytes("wav", 0.2))
    stem = await database.pool.fetchval(
        "INSERT INTO stems (track_id, name, model, path) VALUES ($1, 'vocals', 'htdemucs', $2) RETURNING id",
        track["id"], stem_path)
    await database.pool.execute("INSERT INTO analysis_results (track_id, result) VALUES ($1, $2)", track["id"],
                                json.dumps({"tempo": 120.0, "key": "A minor"}))
    download = await created(await client.post("/api/download/track", json={"url": "http://127.0.0.1:9/x.mp3"},
                                               headers=owner))
    analysis = await created(await client.post("/api/analysis/analyze", json={"track_id": track["id"]},
                                               headers=owner))
    conversation = await created(await client.post("/api/agents/conversations", headers=owner))
    # Separation needs the pro role, which the owner lacks: its job is queued as the pro route would.
    async with database.pool.acquire() as conn:
        processing, _ = await enqueue(conn, PROCESSING_KIND, user_id=accounts["user"].user.id,
                                      track_id=track["id"], args={"path": track["file_url"].removeprefix("/files/"),
                                                                  "model": "htdemucs", "engine": "local"})
    ids = {"track": track["id"], "stem": stem, "job": download["job_id"], "download_job": download["job_id"],
           "analysis_job": analysis["job_id"], "processing_job": processing.id, "conversation": conversation["id"],
           "user_id": accounts["user"].user.id}
    return headers, ids


def fill(value: Any, ids: dict[str, int]) -> Any:
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return ids[value[1:-1]]
    if isinstance(value, dict):
        return {key: fill(item, ids) for key, item in value.items()}
    return value


@pytest.mark.parametrize(("method", "route"), sorted(MATRIX))
async def test_each_caller_gets_the_expected_status(client, callers, method, route):
    headers, ids = callers
    rule = MATRIX[method, route]
    path = rule.path.format(**ids)

    got = {}
    for caller in CALLERS:
        body = {"data": upload_form()} if rule.body == UPLOAD else {"json": fill(rule.body, ids)}
        response = await client.request(method, path, headers=headers[caller], **body)
        got[caller] = response.status
        if response.status == 404:
            assert (await response.json())["code"] == "NOT_FOUND"
            assert str(ids["track"]) not in (await response.text()).replace(path, "")

    assert got == {caller: expected(rule, caller) for caller in CALLERS}
