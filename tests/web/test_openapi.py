"""``GET /api/openapi.json``: generated from the route declarations, a valid OpenAPI 3.1 document covering
every API route, and schemathesis run against the live app finds no 500 and no response that breaks it."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from pathlib import Path

import pytest
from aiohttp import FormData, web
from aiohttp.test_utils import TestClient
from openapi_spec_validator import validate

from sfa.config import Config
from sfa.db import Database
from sfa.dsp import FEATURE_GROUPS, analyze_file
from sfa.web.keys import ACTOR_TREE
from sfa.web.openapi import UndeclaredRoutes, build_document
from tests.conftest import Account
from tests.lalalai.fake_lalalai import KEY, FakeLalalai
from tests.serving import AppServer
from tests.spotify.fake_spotify import FakeSpotify
from tests.spotify.fake_spotify import settings as spotify_settings
from tests.tracks.audio import audio_bytes

pytestmark = pytest.mark.embedded_only

SCHEMATHESIS_CHECKS = ("not_a_server_error", "response_schema_conformance", "status_code_conformance",
                       "content_type_conformance", "positive_data_acceptance", "negative_data_rejection")
# Schema-valid requests these operations may still refuse with a 422: a job that already started, a track
# whose audio has not arrived, a file that is not audio, a change that would leave no active super_admin,
# a string that is not a Spotify link (the forms people paste are more than a pattern can say).
STATEFUL_422 = ("DELETE /api/jobs/{id}", "POST /api/analysis/analyze", "POST /api/processing/separate",
                "POST /api/tracks", "PATCH /api/admin/users/{id}", "POST /api/spotify/fetch",
                "POST /api/spotify/import")
ACCEPTED = ["2xx", "401", "403", "404", "429"]
MAX_EXAMPLES = 10


@pytest.fixture
def config(tmp_path: Path, database_url: str, lalalai: FakeLalalai, spotify: FakeSpotify) -> Config:
    """Rate limits too high to reach, so generated cases are not all 429s; lalal.ai and Spotify are the local
    fakes."""
    return Config.from_env({
        "SFA_VAR_DIR": str(tmp_path / "var"), "SFA_DATA_DIR": str(tmp_path / "data"), "DATABASE_URL": database_url,
        "SFA_RATE_API": "1000000/60", "SFA_RATE_HEAVY": "1000000/60",
        "SFA_LALALAI_URL": lalalai.base_url, "SFA_LALALAI_KEY": KEY, **spotify_settings(spotify),
    })


def api_routes(app: web.Application) -> set[tuple[str, str]]:
    return {(route.method, route.resource.canonical) for route in app.router.routes()
            if route.method != "HEAD" and route.resource.canonical.startswith(("/api/", "/export/", "/files/"))}


async def test_every_api_route_is_in_the_document(app):
    document = build_document(app)

    documented = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    assert api_routes(app) <= documented
    assert ("GET", "/api/openapi.json") in documented


async def test_an_undeclared_api_route_fails_the_document(app):
    async def secret(request: web.Request) -> web.Response:
        return web.json_response({})

    app.router.add_get("/api/undeclared", secret)

    with pytest.raises(UndeclaredRoutes, match="GET /api/undeclared"):
        build_document(app)


async def test_document_is_served_without_credentials_and_is_valid_openapi_3_1(client):
    response = await client.get("/api/openapi.json")

    assert response.status == 200
    document = await response.json()
    assert document["openapi"].startswith("3.1.")
    validate(document)
    tracks = document["paths"]["/api/tracks/{id}"]
    assert tracks["get"]["security"] == [{"bearerAuth": []}, {"cookieAuth": []}]
    assert set(tracks["patch"]["responses"]) == {"200", "400", "401", "403", "404", "422", "429"}
    assert tracks["patch"]["responses"]["422"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ValidationError"}
    assert document["paths"]["/api/openapi.json"]["get"]["security"] == []


def schemathesis_config(path: Path, token: str, victim_id: int) -> Path:
    """An admin's token (admin is the highest role any route needs), examples bounded per operation; user
    changes all target one victim, since ids seen in responses are reused and the admin could otherwise
    suspend itself and turn every later case into a 403. NUL is not generated: any text holding one is a
    400 (the document says so in words; tests/web/test_envelope.py checks it), which JSON Schema cannot state
    for every string of a body."""
    operations = "".join(f"""
[[operations]]
include-name = "{name}"
checks.positive_data_acceptance.expected-statuses = {json.dumps([*ACCEPTED, "422"])}
""" for name in STATEFUL_422)
    path.write_text(f"""
workers = 1
headers = {{ Authorization = "Bearer {token}" }}

[generation]
max-examples = {MAX_EXAMPLES}
database = "none"
allow-x00 = false

[checks]
positive_data_acceptance.expected-statuses = {json.dumps(ACCEPTED)}

[[operations]]
include-name = "PATCH /api/admin/users/{{id}}"
parameters = {{ "path.id" = {victim_id} }}
{operations}""")
    return path


async def seed(client: TestClient, account: Account, database: Database, data_dir: Path) -> None:
    """A track with real audio, a stem file and a real analysis, so reads and exports the run finds ids for
    in listings answer with full bodies as well as 404s."""
    form = FormData()
    form.add_field("file", audio_bytes("wav", 1.0), filename="Seed.wav")
    track = (await (await client.post("/api/tracks", data=form, headers=account.headers)).json())["data"]
    original = data_dir / track["file_url"].removeprefix("/files/")
    stem = f"tracks/{track['id']}/stems/vocals.wav"
    (data_dir / stem).parent.mkdir(parents=True)
    shutil.copyfile(original, data_dir / stem)
    await database.pool.execute("INSERT INTO stems (track_id, name, model, path, file_size) "
                                "VALUES ($1, 'vocals', 'htdemucs', $2, $3)", track["id"], stem, original.stat().st_size)
    result = await asyncio.to_thread(analyze_file, original, features=list(FEATURE_GROUPS))
    await database.pool.execute("INSERT INTO analysis_results (track_id, result) VALUES ($1, $2)", track["id"],
                                json.dumps(result))


@pytest.mark.timeout(900)
async def test_schemathesis_finds_no_server_error_and_no_schema_violation(app, tree, make_account, database, config,
                                                                          tmp_path):
    app[ACTOR_TREE] = tree
    admin, victim = await make_account("admin"), await make_account("pro")
    settings = schemathesis_config(tmp_path / "schemathesis.toml", admin.token, victim.user.id)
    async with TestClient(AppServer(app)) as client:
        await seed(client, admin, database, config.data_dir)
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "schemathesis.cli", "--config-file", str(settings), "run",
            str(client.make_url("/api/openapi.json")), "--checks", ",".join(SCHEMATHESIS_CHECKS), "--seed", "1",
            "--no-color", "--report", "junit", "--report-dir", str(tmp_path / "report"),
            cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        output, _ = await process.communicate()

    assert process.returncode == 0, output.decode()
