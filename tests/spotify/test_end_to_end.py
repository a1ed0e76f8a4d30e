"""From a Spotify link to an analysed track: a real Chromium signs in with Spotify (the local fake) and
imports a three-track album; a real ``phoenix`` client watches the three download jobs, which a real worker
process completes with yt-dlp through the search feed of the local media server; one track is analysed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from sfa.config import Config
from sfa.web import make_app
from tests.actors.conftest import job_pool, supervised_pool
from tests.jobs.conftest import running_queue, wait_for_state
from tests.jobs.test_download import audio_server, download_queue_on  # noqa: F401  (fixture)
from tests.phoenix.conftest import js, node_client  # noqa: F401  (fixtures)
from tests.spotify.fake_spotify import FakeSpotify

pytestmark = pytest.mark.embedded_only

SCRIPT = Path(__file__).resolve().parent / "js" / "spotify_login.mjs"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def e2e_config(config: Config, audio_server) -> Config:  # noqa: F811
    return config.replace(resolver_search=f"http://127.0.0.1:{audio_server.port}/search?q={{query}}",
                          queue_poll_s=0.05, queue_backoff_s=0.05, download_max_mb=5)


@pytest.fixture
async def server(e2e_config: Config, database) -> AsyncIterator[TestServer]:
    async with TestServer(make_app(e2e_config, database), host="127.0.0.1") as test_server:
        yield test_server


async def run_browser(node: str, chromium_path: str, base: str, album_url: str) -> dict[str, dict]:
    process = await asyncio.create_subprocess_exec(node, str(SCRIPT), base, chromium_path, album_url, cwd=ROOT,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, err.decode()
    return {line["event"]: line for line in map(json.loads, out.decode().splitlines())}


async def test_sign_in_with_spotify_import_an_album_download_and_analyse(
        server, spotify: FakeSpotify, e2e_config, database, js, node_client, chromium):  # noqa: F811
    spotify.add_profile("Album Fan", "fan@example.com")
    album = spotify.add_album("Night Drive", "The Synths", ["Neon", "Tunnel", "Dawn"], [2.0, 2.0, 2.0])
    base = f"http://127.0.0.1:{server.port}"

    seen = await run_browser(node_client, chromium, base, f"https://open.spotify.com/intl-de/album/{album}?si=e2e")
    assert "fan@example.com" in seen["signed_in"]["nav"]
    assert seen["imported"]["status"] == 201, seen["imported"]
    imported = seen["imported"]["body"]["data"]
    assert imported["type"] == "album" and [t["title"] for t in imported["tracks"]] == ["Neon", "Tunnel", "Dawn"]
    assert "Connected as Album Fan" in seen["settings"]["spotify"]
    job_ids = imported["job_ids"]
    assert len(job_ids) == 3

    client = await js()
    await client.connect(f"ws://127.0.0.1:{server.port}/socket", transport="websocket", vsn="2.0.0",
                         params={"token": seen["signed_in"]["socketToken"]})
    await client.expect("open")
    for job_id in job_ids:
        assert (await client.join(f"jobs:{job_id}"))["status"] == "ok"

    completed = {}
    async with supervised_pool(lambda bridge: job_pool(bridge, "download", workers=1)) as pool:
        queue = await download_queue_on(pool, e2e_config, database).start()
        try:
            while len(completed) < 3:
                event = await client.expect(lambda e: e["ev"] == "message" and e["event"] in ("job:completed",
                                                                                              "job:failed"), timeout=60)
                assert event["event"] == "job:completed", event
                completed[event["payload"]["job_id"]] = event["payload"]
        finally:
            await queue.stop()
    assert set(completed) == set(job_ids)
    assert all(p["job_type"] == "download" and p["result"]["backend"] == "ytdlp search" for p in completed.values())
    assert completed[job_ids[0]]["result"]["source_url"].endswith("/listen/neon")

    headers = {"Authorization": f"Bearer {seen['api_key']['key']}"}
    track_id = imported["tracks"][0]["track_id"]
    async with ClientSession(base) as http:
        track = (await (await http.get(f"/api/tracks/{track_id}", headers=headers)).json())["data"]
        assert track["source"] == "spotify" and track["format"] == "flac" and track["duration"] == pytest.approx(2.0)
        response = await http.post("/api/analysis/analyze", json={"track_id": track_id, "features": "all"},
                                   headers=headers)
        assert response.status == 201, await response.text()
        analysis_id = (await response.json())["data"]["job_id"]
        async with supervised_pool(lambda bridge: job_pool(bridge, "analysis", workers=1)) as pool, \
                running_queue(database, e2e_config, {"analysis": pool}, {"analysis": 1}):
            job = await wait_for_state(database, analysis_id, "completed", "failed", timeout=90)
        assert job.state == "completed", job.error
        result = (await (await http.get(f"/api/analysis/{track_id}", headers=headers)).json())["data"]["result"]
        assert "tempo" in result and result["key"] and len(result["features"]["mfcc"]) == 20
