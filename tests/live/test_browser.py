"""The live pages in headless Chromium, driven by the real ``phoenix_live_view`` client against a live app
with a real analysis worker process: register, upload, analyse with progress, stems that play, and more.
Screenshots of every page, desktop and 390 px wide, go to ``test-artifacts/screenshots`` (git-ignored)."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
import soundfile
from aiohttp import web

from sfa.actors.system import ActorSystemBridge
from sfa.config import Config
from sfa.supervisors import Supervisor
from sfa.tracks import files
from sfa.web import make_app
from sfa.web.keys import ACTOR_TREE
from tests.actors.conftest import job_pool
from tests.actors.test_worker_pool import worker_pids
from tests.analysis.test_analysis_api import song
from tests.jobs.conftest import running_queue
from tests.phoenix.conftest import node_client  # noqa: F401  (fixture)

pytestmark = pytest.mark.embedded_only

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).resolve().parent / "js" / "pages.mjs"
SHOTS = ROOT / "test-artifacts" / "screenshots"
SR = 22050
EMAIL = "live.browser@example.com"


@pytest.fixture
def app(config: Config, database, tree) -> web.Application:
    """The app with a real supervision tree, so the admin's tree page has one to show."""
    served = make_app(config, database)
    served[ACTOR_TREE] = tree
    return served


@pytest.fixture
async def analysis_tree(config: Config, database) -> AsyncIterator[Supervisor]:
    """One real analysis JobWorker process under a supervisor, fed by the durable queue; the tree is yielded
    so a test can find (and kill) the worker."""
    bridge = await ActorSystemBridge(log_level="error").start()
    pool = job_pool(bridge, "analysis", workers=1)
    tree = await Supervisor("root", [pool.spec()]).start()
    try:
        async with running_queue(database, config.replace(queue_poll_s=0.05, queue_backoff_s=0.3),
                                 {"analysis": pool}, {"analysis": 1}):
            yield tree
    finally:
        await tree.stop()
        await bridge.stop()


def write_stems(data_dir: Path, track_id: int) -> list[tuple[str, str]]:
    """Four short stems on disk, as a finished separation leaves them: (name, relative path)."""
    stems = []
    t = np.arange(SR * 4) / SR
    for n, name in enumerate(("vocals", "drums", "bass", "other")):
        relative = f"{files.TRACKS}/{track_id}/stems/{name}.wav"
        (data_dir / relative).parent.mkdir(parents=True, exist_ok=True)
        soundfile.write(data_dir / relative, 0.3 * np.sin(2 * np.pi * 110 * (n + 1) * t), SR)
        stems.append((name, relative))
    return stems


class Driver:
    """The node script's lines as they come, answering its requests for server-side steps."""

    def __init__(self, process: asyncio.subprocess.Process, app, database, config: Config, tree: Supervisor,
                 make_account) -> None:
        self.process, self.app, self.database, self.config = process, app, database, config
        self.tree, self.make_account = tree, make_account
        self.seen: dict[str, dict] = {}
        self.shots: list[dict] = []

    async def run(self) -> None:
        async with asyncio.timeout(150):
            while line := await self.process.stdout.readline():
                event = json.loads(line)
                if event["event"] == "shot":
                    self.shots.append(event)
                elif event["event"] == "need":
                    answer = await getattr(self, f"need_{event['what']}")(event)
                    self.process.stdin.write((json.dumps(answer) + "\n").encode())
                    await self.process.stdin.drain()
                else:
                    self.seen[event["event"]] = event

    async def need_stems(self, event: dict) -> dict:
        track_id = int(event["url"].rstrip("/").rpartition("/")[2])
        for name, relative in write_stems(self.config.data_dir, track_id):
            await self.database.pool.execute(
                "INSERT INTO stems (track_id, name, model, path, file_size) VALUES ($1, $2, 'htdemucs', $3, $4)",
                track_id, name, relative, (self.config.data_dir / relative).stat().st_size)
        job_id = await self.database.pool.fetchval(
            "SELECT id FROM jobs WHERE track_id = $1 ORDER BY id DESC LIMIT 1", track_id)
        from sfa.pubsub import job_completed
        from sfa.web.keys import PUBSUB
        await self.app[PUBSUB].publish(job_completed(job_id, job_type="analysis", track_id=track_id, result={}))
        return {"track_id": track_id}

    async def need_other_track(self, event: dict) -> dict:
        other = await self.make_account()
        track_id = await self.database.pool.fetchval(
            "INSERT INTO tracks (user_id, title, source) VALUES ($1, 'Not yours', 'upload') RETURNING id",
            other.user.id)
        return {"track_id": track_id}

    async def need_long_track(self, event: dict) -> dict:
        """A track of 2.5 minutes, so that its analysis is still running when its worker is killed."""
        user_id = await self.database.pool.fetchval("SELECT id FROM users WHERE email = $1", EMAIL)
        track_id = await self.database.pool.fetchval(
            "INSERT INTO tracks (user_id, title, source) VALUES ($1, 'Long take', 'upload') RETURNING id", user_id)
        relative = files.original_path(track_id, "wav")
        audio, sr = soundfile.read(io.BytesIO(song(120.0)))
        (self.config.data_dir / relative).parent.mkdir(parents=True, exist_ok=True)
        soundfile.write(self.config.data_dir / relative, np.tile(audio, (10, 1)), sr)
        await self.database.pool.execute("UPDATE tracks SET path = $2, format = 'wav' WHERE id = $1", track_id,
                                         relative)
        return {"track_id": track_id}

    async def need_kill(self, event: dict) -> dict:
        async with asyncio.timeout(20):
            while not await self.database.pool.fetchval(
                    "SELECT count(*) FROM jobs WHERE track_id = $1 AND state = 'running' AND progress > 0",
                    event["track_id"]):
                await asyncio.sleep(0.01)
        [victim] = worker_pids(self.tree, "analysis")
        os.kill(victim, signal.SIGKILL)
        return {"killed": victim}

    async def need_admin(self, event: dict) -> dict:
        admin = await self.make_account("admin")
        return {"email": admin.user.email, "password": admin.password}


async def test_the_live_pages_in_a_real_browser(app, client, database, config, analysis_tree, node_client,  # noqa: F811
                                                chromium, tmp_path, make_account):
    SHOTS.mkdir(parents=True, exist_ok=True)
    # A failure whose error is one long word (a URL, a file name): the job queue page must wrap it at 390 px.
    someone = await make_account()
    await database.pool.execute(
        "INSERT INTO jobs (user_id, kind, queue, state, attempt, errors) VALUES ($1, 'download', 'download', "
        "'failed', 1, jsonb_build_array(jsonb_build_object('attempt', 1, 'at', now(), 'error', $2::text)))",
        someone.user.id, "http://127.0.0.1:9/" + "averylongname" * 15 + ".flac")
    wav = tmp_path / "song.wav"
    wav.write_bytes(song(120.0))
    process = await asyncio.create_subprocess_exec(
        node_client, str(SCRIPT), f"http://127.0.0.1:{client.server.port}", chromium, str(wav), str(SHOTS),
        EMAIL, "a long browser password", cwd=ROOT,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    driver = Driver(process, app, database, config, analysis_tree, make_account)
    try:
        await driver.run()
    finally:
        if process.returncode is None:
            process.kill()
        err = (await process.stderr.read()).decode()
        await process.wait()
        print("seen:", json.dumps(driver.seen)[:3000])
    # The script's last line, rather than its exit status: the tree's process reaping may collect node's status
    # before asyncio does (asyncio then reports 255 for a script that finished well).
    assert "errors" in driver.seen, err
    seen = driver.seen

    assert "password" in seen["register_refused"]["error"]
    assert "No tracks yet" in seen["dashboard"]["text"]
    assert "http or https" in seen["url_refused"]["error"]
    assert seen["uploaded"]["sameDocument"] is True
    assert "Uploading… 0%" in seen["uploaded"]["upload"] and "Uploaded." in seen["uploaded"]["upload"]
    assert "Uploaded" in seen["uploaded"]["flash"]
    analysed = seen["analysed"]
    assert analysed["sameDocument"] is True
    assert len(analysed["seen"]) >= 2, analysed
    assert 110 <= float(analysed["tempo"]) <= 130
    assert "minor" in analysed["key"] or "major" in analysed["key"]
    assert analysed["chroma"] == "12x32" and analysed["mfcc"] == "20"  # chroma over 16 s in bins of 0.5 s
    assert analysed["energyPoints"] == 32  # 16 s in bins of 0.5 s
    assert all(t > 0.3 for t in seen["stems"]["times"])
    assert seen["stems"]["muted"] == [True, False, True, True]
    assert seen["other_track"]["status"] == 404 and "track not found" in seen["other_track"]["text"]
    assert seen["chat"]["reply"].strip() and seen["chat"]["streamed"] is True
    assert "/chat/" in seen["chat"]["url"]
    assert len(seen["chat"]["pushed"]) == 1 and seen["chat"]["focused"] == "message"
    rows = seen["retry"]["rows"]
    assert any("queued" in row and "attempt 1 of 3" in row for row in rows), rows
    assert "attempt 2 of 3" in rows[-1], rows
    assert "(user)" in seen["before_promotion"]["who"] and seen["before_promotion"]["canSeparate"] is False
    assert "(pro)" in seen["promoted"]["who"] and seen["promoted"]["canSeparate"] is True
    assert "is now pro" in seen["promoted"]["flash"]
    assert "analysis" in seen["admin_jobs"]["text"]
    assert "analysis-1" in seen["admin_tree"]["text"] and "download-1" in seen["admin_tree"]["text"]
    assert "page not found" in seen["not_admin"]["text"]
    expected = ("422 /users/register", "404 /tracks/", "404 /admin")  # the refused form, the two 404 pages
    assert all(error.startswith(expected) for error in seen["errors"]["errors"]), seen["errors"]
    assert {shot["name"] for shot in driver.shots} >= {
        "register", "log-in", "dashboard-empty", "dashboard", "import", "track", "not-found", "chat", "admin-users",
        "admin-jobs", "admin-tree", "settings"}
    assert all(shot["overflow"] <= 0 for shot in driver.shots), driver.shots
    assert all(not shot["unlabelled"] for shot in driver.shots), driver.shots
