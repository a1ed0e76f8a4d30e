"""The live pages in headless Chromium, driven by the real ``phoenix_live_view`` client against a live app
with a real analysis worker process: register, upload, analyse with progress, stems that play, and more.
Screenshots of every page, desktop and 390 px wide, go to ``test-artifacts/screenshots`` (git-ignored)."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
import soundfile

from sfa.actors import WorkerPool
from sfa.config import Config
from sfa.tracks import files
from tests.actors.conftest import job_pool, supervised_pool
from tests.analysis.test_analysis_api import song
from tests.jobs.conftest import running_queue
from tests.phoenix.conftest import node_client  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).resolve().parent / "js" / "pages.mjs"
SHOTS = ROOT / "test-artifacts" / "screenshots"
SR = 22050


@pytest.fixture(scope="session")
def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium)")
    return path


@pytest.fixture
async def analysis_queue(config: Config, database) -> AsyncIterator[WorkerPool]:
    async with supervised_pool(lambda bridge: job_pool(bridge, "analysis", workers=1)) as pool, \
            running_queue(database, config.replace(queue_poll_s=0.05), {"analysis": pool}, {"analysis": 1}):
        yield pool


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

    def __init__(self, process: asyncio.subprocess.Process, app, database, config: Config) -> None:
        self.process, self.app, self.database, self.config = process, app, database, config
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


async def test_the_live_pages_in_a_real_browser(app, client, database, config, analysis_queue, node_client,  # noqa: F811
                                                chromium, tmp_path):
    SHOTS.mkdir(parents=True, exist_ok=True)
    wav = tmp_path / "song.wav"
    wav.write_bytes(song(120.0))
    process = await asyncio.create_subprocess_exec(
        node_client, str(SCRIPT), f"http://127.0.0.1:{client.server.port}", chromium, str(wav), str(SHOTS),
        "live.browser@example.com", "a long browser password", cwd=ROOT,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    driver = Driver(process, app, database, config)
    try:
        await driver.run()
    finally:
        if process.returncode is None:
            process.kill()
        err = (await process.stderr.read()).decode()
        await process.wait()
        print("seen:", json.dumps(driver.seen)[:3000])
    assert process.returncode == 0, err
    seen = driver.seen

    assert "password" in seen["register_refused"]["error"]
    assert "No tracks yet" in seen["dashboard"]["text"]
    assert "http or https" in seen["url_refused"]["error"]
    assert seen["uploaded"]["sameDocument"] is True
    assert "Uploaded" in seen["uploaded"]["flash"]
    analysed = seen["analysed"]
    assert analysed["sameDocument"] is True
    assert len(analysed["seen"]) >= 2, analysed
    assert 110 <= float(analysed["tempo"]) <= 130
    assert "minor" in analysed["key"] or "major" in analysed["key"]
    assert analysed["chroma"] == "12"
    assert all(t > 0.3 for t in seen["stems"]["times"])
    assert seen["stems"]["muted"] == [True, False, True, True]
    assert seen["errors"]["errors"] == ["422 /users/register"]
    assert {shot["name"] for shot in driver.shots} >= {"register", "dashboard-empty", "import", "track"}
    assert all(shot["overflow"] <= 0 for shot in driver.shots), driver.shots
