"""lalal.ai: the client and the /api/lalalai routes against a local server speaking its wire format, and
a processing job with ``engine: "lalalai"`` run by a real GpuWorker process."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator

import numpy as np
import pytest
import soundfile
from aiohttp import FormData

from sfa.actors import WorkerPool
from sfa.config import Config
from sfa.integrations.lalalai import LalalaiClient, LalalaiError
from tests.actors.conftest import job_pool, supervised_pool
from tests.jobs.conftest import running_queue, wait_for_state
from tests.lalalai.fake_lalalai import KEY

pytestmark = pytest.mark.embedded_only

RATE, SAMPLES = 11025, 11025 * 2 + 3


def song() -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, np.random.default_rng(3).uniform(-0.3, 0.3, (SAMPLES, 2)), RATE, format="WAV")
    return buffer.getvalue()


async def test_the_client_uploads_splits_checks_and_cancels(lalalai, tmp_path):
    client = LalalaiClient(lalalai.base_url, KEY)
    (tmp_path / "song.wav").write_bytes(song())

    source = await asyncio.to_thread(client.upload, tmp_path / "song.wav", "naïve song.wav")
    task = await asyncio.to_thread(client.split, source, ["vocals", "drum"])
    first, second = [(await asyncio.to_thread(client.check, [task]))[task] for _ in range(2)]
    other = await asyncio.to_thread(client.split, source, ["bass"])

    upload_headers = next(headers for path, headers in lalalai.calls if path == "/api/v1/upload/")
    assert upload_headers["Content-Disposition"] == "attachment; filename*=utf-8''na%C3%AFve%20song.wav"
    assert (first["status"], first["progress"]) == ("progress", 40)
    assert second["status"] == "success"
    assert [track["label"] for track in second["result"]["tracks"]] == ["vocals", "drum", "no_multistem"]
    assert await asyncio.to_thread(client.cancel, [other]) == {other: {"status": "success"}}
    assert await asyncio.to_thread(client.minutes_left) == 123.5


async def test_a_refused_call_names_the_status_and_never_the_key(lalalai):
    client = LalalaiClient(lalalai.base_url, "wrong-key-123")

    with pytest.raises(LalalaiError) as caught:
        await asyncio.to_thread(client.minutes_left)

    assert caught.value.status == 401 and caught.value.code == "invalid_license"
    assert "Invalid license key" in str(caught.value) and "wrong-key-123" not in str(caught.value)


async def test_quota_and_cancelling_through_the_api(client, make_account, lalalai):
    pro, admin = await make_account("pro"), await make_account("admin")
    task = lalalai.tasks.setdefault("t-1", {"source_id": "s", "stems": ["vocals"], "checks": 0, "status": "progress"})

    quota = await client.get("/api/lalalai/quota", headers=pro.headers)
    cancelled = await client.post("/api/lalalai/cancel", json={"task_ids": ["t-1", "t-2"]}, headers=pro.headers)
    refused = await client.post("/api/lalalai/cancel-all", headers=pro.headers)
    everything = await client.post("/api/lalalai/cancel-all", headers=admin.headers)
    invalid = await client.post("/api/lalalai/cancel", json={"task_ids": []}, headers=pro.headers)

    assert (await quota.json())["data"] == {"minutes_left": 123.5}
    assert (await cancelled.json())["data"]["result"] == {
        "t-1": {"status": "success"}, "t-2": {"status": "server_error", "error": "Task is not in progress state"}}
    assert task["status"] == "cancelled"
    assert refused.status == 403 and everything.status == 200
    assert invalid.status == 422 and "task_ids" in (await invalid.json())["details"]


async def test_an_unreachable_lalalai_is_an_error_without_a_status():
    with pytest.raises(LalalaiError) as caught:
        await asyncio.to_thread(LalalaiClient("http://127.0.0.1:9", KEY, timeout_s=5).minutes_left)

    assert caught.value.status == 0 and KEY not in str(caught.value)


@pytest.fixture
async def processing_queue(config: Config, database) -> AsyncIterator[WorkerPool]:
    """The processing queue with a real processing JobWorker, where lalal.ai jobs run (the GPU stays free)."""
    async with supervised_pool(lambda bridge: job_pool(bridge, "processing", workers=1)) as pool, \
            running_queue(database, config.replace(queue_poll_s=0.05), {"processing": pool}, {"processing": 2}):
        yield pool


async def separate_remotely(client, database, account) -> object:
    """Upload a song and separate it on lalal.ai; the job once it has finished."""
    form = FormData()
    form.add_field("file", song(), filename="song.wav", content_type="audio/wav")
    track = (await (await client.post("/api/tracks", data=form, headers=account.headers)).json())["data"]
    response = await client.post("/api/processing/separate", json={"track_id": track["id"], "engine": "lalalai"},
                                 headers=account.headers)
    assert response.status == 201, await response.text()
    return await wait_for_state(database, (await response.json())["data"]["job_id"], "completed", "failed",
                                timeout=60)


async def test_a_track_separated_by_lalalai_gets_the_models_stems(client, database, make_account, lalalai,
                                                                   processing_queue):
    account = await make_account("pro")
    job = await separate_remotely(client, database, account)

    assert job.state == "completed", job.errors
    assert sorted(lalalai.tasks[job.result["task_id"]]["stems"]) == ["bass", "drum", "vocals"]
    shown = (await (await client.get(f"/api/processing/job/{job.id}", headers=account.headers)).json())["data"]
    assert (shown["engine"], shown["model"]) == ("lalalai", "htdemucs")
    assert sorted(stem["name"] for stem in shown["stems"]) == ["bass", "drums", "other", "vocals"]
    exported = await client.get(shown["stems"][0]["export_url"], headers=account.headers)
    info = soundfile.info(io.BytesIO(await exported.read()))
    assert (info.frames, info.samplerate) == (SAMPLES, RATE)


async def test_a_busy_lalalai_fails_the_attempt_and_the_same_worker_retries_it(client, database, make_account,
                                                                             lalalai, processing_queue):
    lalalai.failures["/api/v1/check/"] = [503]
    processes = {process.pid for process in processing_queue.bridge.processes()}

    job = await separate_remotely(client, database, await make_account("pro"))

    assert job.state == "completed" and job.attempt == 2, job.errors
    assert [entry["error"] for entry in job.errors] == [
        "lalal.ai /api/v1/check/ answered 503: Service temporarily unavailable"]
    assert {process.pid for process in processing_queue.bridge.processes()} == processes
