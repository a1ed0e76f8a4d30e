"""Download jobs end to end: a local HTTP server serves the audio, a real worker process fetches it through
the durable queue, and the real ``phoenix`` JS client watches the job from queued to completed."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer

from sfa.actors import WorkerPool
from sfa.config import Config
from sfa.jobs import JobQueue, pool_executor
from sfa.web import make_app
from tests.actors.conftest import job_pool, supervised_pool
from tests.jobs.conftest import wait_for_state
from tests.phoenix.conftest import js, node_client  # noqa: F401  (fixtures)
from tests.tracks.audio import audio_bytes

SONG = audio_bytes("flac", 2.0)


@pytest.fixture
async def audio_server() -> AsyncIterator[TestServer]:
    """Serves a real song, a web page, a missing file and a file over the size cap."""
    hits: dict[str, int] = {}

    async def song(request: web.Request) -> web.StreamResponse:
        return web.Response(body=SONG, content_type="audio/flac")

    async def flaky(request: web.Request) -> web.StreamResponse:
        hits["flaky"] = hits.get("flaky", 0) + 1
        if hits["flaky"] == 1:
            return web.Response(status=503, text="try later")
        return web.Response(body=SONG, content_type="application/octet-stream")

    async def page(request: web.Request) -> web.StreamResponse:
        return web.Response(text="<html>not audio</html>", content_type="text/html")

    async def fake(request: web.Request) -> web.StreamResponse:
        return web.Response(body=b"\x00" * 5000, content_type="audio/wav")

    async def huge(request: web.Request) -> web.StreamResponse:
        return web.Response(body=b"\x00" * (2 << 20), content_type="audio/wav")

    app = web.Application()
    app.router.add_get("/music/Great Song.flac", song)
    app.router.add_get("/flaky.flac", flaky)
    app.router.add_get("/page.html", page)
    app.router.add_get("/fake.wav", fake)
    app.router.add_get("/huge.wav", huge)
    async with TestServer(app, host="127.0.0.1") as server:
        yield server


@pytest.fixture
def download_config(config: Config) -> Config:
    return config.replace(download_max_mb=1, queue_backoff_s=0.05, queue_poll_s=0.05)


@pytest.fixture
async def server(download_config: Config, database) -> AsyncIterator[TestServer]:
    async with TestServer(make_app(download_config, database)) as test_server:
        yield test_server


@pytest.fixture
async def download_pool() -> AsyncIterator[WorkerPool]:
    """One real JobWorker process in a supervised download pool."""
    async with supervised_pool(lambda bridge: job_pool(bridge, "download", workers=1)) as pool:
        yield pool


def download_queue_on(pool: WorkerPool, config: Config, database) -> JobQueue:
    return JobQueue(database, config, pool_executor({"download": pool}), {"download": 1})


@pytest.fixture
async def download_queue(download_pool: WorkerPool, download_config: Config, database) -> AsyncIterator[JobQueue]:
    queue = await download_queue_on(download_pool, download_config, database).start()
    yield queue
    await queue.stop()


async def start_download(server: TestServer, account, url: str, **extra) -> dict:
    async with ClientSession() as session:
        response = await session.post(f"http://127.0.0.1:{server.port}/api/download/track",
                                      json={"url": url, **extra}, headers=account.headers)
        assert response.status == 201, await response.text()
        return (await response.json())["data"]


async def get(server: TestServer, account, path: str) -> dict:
    async with ClientSession() as session:
        response = await session.get(f"http://127.0.0.1:{server.port}{path}", headers=account.headers)
        assert response.status == 200
        return await response.json()


async def test_a_phoenix_client_watches_a_download_from_queued_to_completed(
        js, server, audio_server, download_pool, make_account, database, download_config):  # noqa: F811
    account = await make_account()
    client = await js()
    await client.connect(f"ws://127.0.0.1:{server.port}/socket", transport="websocket", vsn="2.0.0",
                         params={"token": account.token})
    await client.expect("open")
    started = await start_download(server, account, f"http://127.0.0.1:{audio_server.port}/music/Great%20Song.flac",
                                   quality="lossless")
    assert started["status"] == "queued"
    job_id, track_id = started["job_id"], started["track_id"]
    joined = await client.join(f"jobs:{job_id}")
    assert joined["status"] == "ok"
    body = await get(server, account, f"/api/download/job/{job_id}")
    assert body["data"]["status"] == "queued" and body["data"]["progress"] == 0

    queue = await download_queue_on(download_pool, download_config, database).start()
    events = []
    try:
        while not events or events[-1]["event"] != "job:completed":
            events.append(await client.expect(
                lambda e: e["ev"] == "message" and e["topic"] == f"jobs:{job_id}" and e["event"].startswith("job:"),
                timeout=30))
    finally:
        await queue.stop()
    progress = [e["payload"] for e in events if e["event"] == "job:progress"]
    assert progress[0]["status"] == "downloading" and progress[0]["message"].startswith("attempt 1 of 3")
    assert all(p["job_id"] == job_id and 0 <= p["progress"] <= 100 for p in progress)
    assert [p["progress"] for p in progress] == sorted(p["progress"] for p in progress)
    completed = events[-1]["payload"]
    assert completed["job_id"] == job_id and completed["job_type"] == "download"
    assert completed["track_id"] == track_id
    assert completed["result"]["output_path"] == f"tracks/{track_id}/original.flac"

    body = await get(server, account, f"/api/download/job/{job_id}")
    assert body["data"] == {"id": job_id, "status": "completed", "progress": 100, "track_id": track_id,
                            "output_path": f"tracks/{track_id}/original.flac", "file_size": len(SONG),
                            "error": None}
    body = await get(server, account, f"/api/tracks/{track_id}")
    track = body["data"]
    assert track["title"] == "Great Song" and track["source"] == "url"
    assert (track["format"], track["sample_rate"], track["channels"]) == ("flac", 22050, 2)
    assert track["duration"] == pytest.approx(2.0, abs=0.05)
    assert (download_config.data_dir / track["file_url"].removeprefix("/files/")).read_bytes() == SONG


async def test_a_transient_server_error_is_retried(server, audio_server, download_queue, make_account, database):
    account = await make_account()
    started = await start_download(server, account, f"http://127.0.0.1:{audio_server.port}/flaky.flac")
    job = await wait_for_state(database, started["job_id"], "completed", "failed", timeout=30)
    assert job.state == "completed" and job.attempt == 2
    assert "503" in job.errors[0]["error"]


@pytest.mark.parametrize(("path", "error"), [
    ("/page.html", "text/html, not audio"), ("/fake.wav", "not a readable audio file"),
    ("/huge.wav", "limit"), ("/missing.wav", "404"),
])
async def test_what_is_not_audio_fails_without_retry(server, audio_server, download_queue, make_account, database,
                                                     download_config, path, error):
    account = await make_account()
    started = await start_download(server, account, f"http://127.0.0.1:{audio_server.port}{path}")
    job = await wait_for_state(database, started["job_id"], "completed", "failed", timeout=30)
    assert job.state == "failed" and job.attempt == 1 and error in job.error
    assert not (download_config.data_dir / "tracks" / str(started["track_id"])).exists()
    assert list((download_config.data_dir / "tmp").iterdir()) == []
    body = await get(server, account, f"/api/download/job/{started['job_id']}")
    assert body["data"]["status"] == "failed" and error in body["data"]["error"]


@pytest.mark.parametrize(("body", "field"), [
    ({"url": "ftp://example.com/a.wav"}, "url"), ({"url": "not a url"}, "url"), ({}, "url"),
    ({"url": "http://[::1"}, "url"), ({"url": "HTTP://example.com/a b.wav"}, "url"),
    ({"url": "http://example.com/a.wav", "quality": "ultra"}, "quality"),
])
async def test_bad_download_requests_are_422(client, make_account, body, field):
    account = await make_account()
    response = await client.post("/api/download/track", json=body, headers=account.headers)
    assert response.status == 422 and field in (await response.json())["details"]


async def test_another_users_download_job_is_404(client, make_account, database):
    owner, stranger = await make_account(), await make_account()
    response = await client.post("/api/download/track", json={"url": "http://127.0.0.1:9/x.wav"},
                                 headers=owner.headers)
    job_id = (await response.json())["data"]["job_id"]
    assert (await client.get(f"/api/download/job/{job_id}", headers=stranger.headers)).status == 404
    assert (await client.get(f"/api/download/job/{job_id}", headers=owner.headers)).status == 200
    assert (await client.delete(f"/api/jobs/{job_id}", headers=owner.headers)).status == 200
