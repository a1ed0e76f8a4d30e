"""Download jobs end to end: a local HTTP server serves the audio (files, a page with an ``<audio>`` element,
and a search feed), a real worker process fetches it through the durable queue with yt-dlp, and the real
``phoenix`` JS client watches the job from queued to completed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from html import escape

import pytest
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer

from sfa.actors import WorkerPool
from sfa.config import Config
from sfa.integrations.downloader.job import DOWNLOAD_KIND
from sfa.integrations.downloader.ytdlp import ffmpeg_available
from sfa.job_kinds import JOB_KINDS
from sfa.jobs import JobQueue, enqueue, pool_executor
from sfa.tracks.store import create_track
from sfa.web import make_app
from tests.actors.conftest import job_pool, supervised_pool
from tests.jobs.conftest import wait_for_state
from tests.phoenix.conftest import js, node_client  # noqa: F401  (fixtures)
from tests.serving import AppServer
from tests.tracks.audio import audio_bytes

pytestmark = pytest.mark.embedded_only

SONG = audio_bytes("flac", 2.0)
NEEDS_FFMPEG = pytest.mark.skipif(not ffmpeg_available(), reason="ffmpeg is not installed")


def search_feed(base: str, query: str) -> str:
    """A podcast-style RSS feed of search results, as yt-dlp's generic extractor reads one: the right
    song among near misses (a live cut too long, another artist, a cover)."""
    results = [("The Synths - Neon (Live at the Dome)", 250, "/music/Great%20Song.flac"),
               ("Other Band - Neon", 2, "/music/Great%20Song.flac"),
               ("The Synths - Neon", 3, "/listen/neon"),
               ("The Synths - Tunnel", 2, "/listen/tunnel"),
               ("The Synths - Dawn", 2, "/listen/dawn")]
    items = "".join(f"<item><title>{title}</title><link>{base}{path}</link><guid>{base}{path}</guid>"
                    f'<enclosure url="{base}{path}" type="text/html" length="0"/>'
                    f"<itunes:duration>{seconds}</itunes:duration></item>" for title, seconds, path in results)
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
            f'xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"><channel><title>Results for '
            f"{escape(query)}</title><link>{base}/search</link>{items}</channel></rss>")


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

    async def cut(request: web.Request) -> web.StreamResponse:
        """The first transfer breaks off halfway through; the next one is whole."""
        hits["cut"] = hits.get("cut", 0) + 1
        if hits["cut"] > 1:
            return web.Response(body=SONG, content_type="audio/flac")
        response = web.StreamResponse(headers={"Content-Type": "audio/flac", "Content-Length": str(len(SONG))})
        await response.prepare(request)
        await response.write(SONG[:len(SONG) // 2])
        request.transport.close()
        return response

    async def page(request: web.Request) -> web.StreamResponse:
        return web.Response(text="<html>not audio</html>", content_type="text/html")

    async def fake(request: web.Request) -> web.StreamResponse:
        return web.Response(body=b"\x00" * 5000, content_type="audio/wav")

    async def huge(request: web.Request) -> web.StreamResponse:
        return web.Response(body=b"\x00" * (2 << 20), content_type="audio/wav")

    async def listen(request: web.Request) -> web.StreamResponse:
        return web.Response(content_type="text/html", text=f"""<!doctype html><html><head>
<title>{request.match_info['name'].title()}</title></head><body><h1>Listen</h1>
<audio controls><source src="/music/Great%20Song.flac" type="audio/flac"></audio></body></html>""")

    async def search(request: web.Request) -> web.StreamResponse:
        base = f"http://{request.host}"
        return web.Response(text=search_feed(base, request.query.get("q", "")), content_type="application/rss+xml")

    async def slow(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "audio/flac", "Content-Length": str(len(SONG))})
        await response.prepare(request)
        for start in range(0, len(SONG), 4096):
            await response.write(SONG[start:start + 4096])
            await asyncio.sleep(0.2)
        return response

    app = web.Application()
    app.router.add_get("/listen/{name}", listen)
    app.router.add_get("/search", search)
    app.router.add_get("/slow.flac", slow)
    app.router.add_get("/music/Great Song.flac", song)
    app.router.add_get("/flaky.flac", flaky)
    app.router.add_get("/cut.flac", cut)
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
    async with AppServer(make_app(download_config, database)) as test_server:
        yield test_server


@pytest.fixture
async def download_pool() -> AsyncIterator[WorkerPool]:
    """One real JobWorker process in a supervised download pool."""
    async with supervised_pool(lambda bridge: job_pool(bridge, "download", workers=1)) as pool:
        yield pool


def download_queue_on(pool: WorkerPool, config: Config, database) -> JobQueue:
    return JobQueue(database, config, pool_executor({"download": pool}, JOB_KINDS), {"download": 1}, kinds=JOB_KINDS)


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


@pytest.mark.parametrize(("order", "path", "error"), [
    (("ytdlp", "http"), "/flaky.flac", "[generic] flaky: Unable to download webpage: HTTP Error 503"),
    (("http",), "/flaky.flac", "the server answered 503 Service Unavailable"),
    (("http",), "/cut.flac", f"the transfer broke off after {len(SONG) // 2} of {len(SONG)} bytes"),
])
async def test_a_transient_failure_is_retried_by_the_same_worker(server, audio_server, download_pool, make_account,
                                                                  database, download_config, order, path, error):
    account = await make_account()
    started = await start_download(server, account, f"http://127.0.0.1:{audio_server.port}{path}",
                                   quality="lossless")
    processes = {process.pid for process in download_pool.bridge.processes()}
    queue = await download_queue_on(download_pool, download_config.replace(downloader=order), database).start()
    try:
        job = await wait_for_state(database, started["job_id"], "completed", "failed", timeout=30)
    finally:
        await queue.stop()
    assert job.state == "completed" and job.attempt == 2, job.errors
    assert [entry["error"][:len(error)] for entry in job.errors] == [error]
    assert {process.pid for process in download_pool.bridge.processes()} == processes
    assert list((download_config.data_dir / "tmp").iterdir()) == []


@pytest.mark.parametrize(("path", "error"), [
    ("/page.html", "text/html, not audio"), ("/fake.wav", "not a readable audio file"),
    ("/huge.wav", "limit"), ("/missing.wav", "404"),
])
async def test_what_is_not_audio_fails_without_retry(server, audio_server, download_queue, make_account, database,
                                                     download_config, path, error):
    account = await make_account()
    started = await start_download(server, account, f"http://127.0.0.1:{audio_server.port}{path}",
                                   quality="lossless")
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


async def test_a_page_with_an_audio_element_is_downloaded_as_served_for_lossless(
        server, audio_server, download_queue, make_account, database):
    account = await make_account()
    started = await start_download(server, account, f"http://127.0.0.1:{audio_server.port}/listen/great-song",
                                   quality="lossless")
    job = await wait_for_state(database, started["job_id"], "completed", "failed", timeout=30)
    assert job.state == "completed", job.error
    assert job.result["backend"] == "ytdlp" and job.result["codec"] == "flac" and job.result["format"] == "flac"
    assert job.result["file_size"] == len(SONG) and job.result["sample_rate"] == 22050
    assert job.result["bitrate_kbps"] == pytest.approx(len(SONG) * 8 / 2.0 / 1000, rel=0.05)


@NEEDS_FFMPEG
@pytest.mark.parametrize(("quality", "kbps"), [("low", 128), ("medium", 192)])
async def test_a_lossy_quality_transcodes_to_its_bitrate(server, audio_server, download_queue, make_account,
                                                         database, download_config, quality, kbps):
    account = await make_account()
    started = await start_download(server, account, f"http://127.0.0.1:{audio_server.port}/listen/great-song",
                                   quality=quality)
    job = await wait_for_state(database, started["job_id"], "completed", "failed", timeout=60)
    assert job.state == "completed", job.error
    assert (job.result["codec"], job.result["bitrate_kbps"], job.result["format"]) == ("mp3", kbps, "mp3")
    assert job.result["quality"] == quality and job.result["duration"] == pytest.approx(2.0, abs=0.1)
    path = download_config.data_dir / job.result["output_path"]
    assert path.stat().st_size == job.result["file_size"] and path.read_bytes()[:3] in (b"ID3", b"\xff\xfb")


async def test_a_spotify_track_is_found_by_a_search_matching_artist_title_and_length(
        server, audio_server, make_account, database, download_pool, download_config):
    config = download_config.replace(resolver_search=f"http://127.0.0.1:{audio_server.port}/search?q={{query}}")
    account = await make_account()
    async with database.pool.acquire() as conn:
        track = await create_track(conn, account.user.id, title="Neon", artist="The Synths", source="spotify")
        good, _ = await enqueue(conn, DOWNLOAD_KIND, user_id=account.user.id, track_id=track.id, args={
            "url": "https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC", "quality": "lossless",
            "spotify": {"title": "Neon", "artists": ["The Synths"], "duration_ms": 2400}})
        missing, _ = await enqueue(conn, DOWNLOAD_KIND, user_id=account.user.id, track_id=track.id, args={
            "url": "spotify:track:4uLU6hMCjMI75M1A2tKUQC", "quality": "lossless",
            "spotify": {"title": "Neon", "artists": ["The Synths"], "duration_ms": 60_000}})
    queue = await download_queue_on(download_pool, config, database).start()
    try:
        done = await wait_for_state(database, good.id, "completed", "failed", timeout=30)
        refused = await wait_for_state(database, missing.id, "completed", "failed", timeout=30)
    finally:
        await queue.stop()
    assert done.state == "completed", done.error
    assert done.result["backend"] == "ytdlp search" and done.result["source_url"].endswith("/listen/neon")
    assert refused.state == "failed" and refused.attempt == 1
    assert "no search result matched The Synths - Neon (1:00)" in refused.error


async def test_the_order_setting_decides_which_backend_takes_a_page(server, audio_server, make_account, database,
                                                                   download_pool, download_config):
    account = await make_account()
    started = await start_download(server, account, f"http://127.0.0.1:{audio_server.port}/listen/great-song",
                                   quality="lossless")
    queue = await download_queue_on(download_pool, download_config.replace(downloader=("http",)), database).start()
    try:
        job = await wait_for_state(database, started["job_id"], "completed", "failed", timeout=30)
    finally:
        await queue.stop()
    assert job.state == "failed" and job.error == "http: the URL serves text/html, not audio"
