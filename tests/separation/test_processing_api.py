"""Separation end to end: an uploaded track separated by a real GpuWorker process (on the CPU here)
through the durable queue, with weights seeded into a torch hub cache as an operator would place them (a
small random-weight HTDemucs under the real htdemucs file name); stems exported; errors readable."""

from __future__ import annotations

import io
import zipfile
from collections.abc import AsyncIterator

import numpy as np
import pytest
import soundfile
from aiohttp import FormData

from sfa.actors import WorkerPool
from sfa.actors.system import ActorSystemBridge
from sfa.actors.tree import GPU_WORKER
from sfa.config import Config
from sfa.job_kinds import JOB_KINDS
from sfa.separation.registry import MODELS
from tests.actors.conftest import supervised_pool
from tests.jobs.conftest import running_queue, wait_for_state
from tests.separation.nets import htdemucs, seed_checkpoint

pytestmark = pytest.mark.embedded_only

RATE, SAMPLES = 16000, 16000 * 3 + 11


def song() -> bytes:
    buffer = io.BytesIO()
    noise = np.random.default_rng(7).uniform(-0.3, 0.3, (SAMPLES, 2)).astype(np.float32)
    soundfile.write(buffer, noise, RATE, format="WAV")
    return buffer.getvalue()


@pytest.fixture
async def gpu_queue(config: Config, database, tmp_path, monkeypatch) -> AsyncIterator[WorkerPool]:
    """One GpuWorker process running two jobs at once, fed by the processing queue; htdemucs seeded."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    seed_checkpoint(tmp_path / "torch" / "hub", MODELS["htdemucs"].files[0], htdemucs())
    def two_slot_gpu_pool(bridge: ActorSystemBridge) -> WorkerPool:
        return WorkerPool("gpu", bridge, devices=["cpu"], actor_class=GPU_WORKER, worker_type="gpu_worker",
                          performers=JOB_KINDS.performers(), slots=2)

    async with supervised_pool(two_slot_gpu_pool) as pool, \
            running_queue(database, config.replace(queue_poll_s=0.05, separation_segment_s=1.0), {"gpu": pool},
                          {"processing": 2}):
        yield pool


async def upload(client, account) -> dict:
    form = FormData()
    form.add_field("file", song(), filename="song.wav", content_type="audio/wav")
    response = await client.post("/api/tracks", data=form, headers=account.headers)
    assert response.status == 201, await response.text()
    return (await response.json())["data"]


async def separate(client, account, track_id, model="htdemucs") -> dict:
    response = await client.post("/api/processing/separate", json={"track_id": track_id, "model": model},
                                 headers=account.headers)
    assert response.status == 201, await response.text()
    return (await response.json())["data"]


async def test_two_tracks_separate_at_once_into_exported_stems(client, database, make_account, gpu_queue):
    account = await make_account("pro")
    tracks = [await upload(client, account), await upload(client, account)]

    started = [await separate(client, account, track["id"]) for track in tracks]
    assert started[0] == {"job_id": started[0]["job_id"], "track_id": tracks[0]["id"], "model": "htdemucs",
                          "engine": "local", "status": "queued"}
    jobs = [await wait_for_state(database, job["job_id"], "completed", "failed", timeout=120) for job in started]

    assert [job.state for job in jobs] == ["completed", "completed"], [job.errors for job in jobs]
    assert all(job.result["device"] == "cpu" for job in jobs)
    shown = (await (await client.get(f"/api/processing/job/{started[0]['job_id']}",
                                     headers=account.headers)).json())["data"]
    assert (shown["status"], shown["progress"], shown["model"], shown["error"]) == ("completed", 100, "htdemucs", None)
    assert [stem["name"] for stem in shown["stems"]] == ["drums", "bass", "other", "vocals"]
    for stem in shown["stems"]:
        response = await client.get(stem["export_url"], headers=account.headers)
        assert response.status == 200
        info = soundfile.info(io.BytesIO(await response.read()))
        assert (info.frames, info.samplerate, info.channels) == (SAMPLES, RATE, 2)
    archive = await client.get(f"/export/stems/{tracks[0]['id']}", headers=account.headers)
    assert archive.status == 200
    assert len(zipfile.ZipFile(io.BytesIO(await archive.read())).namelist()) == 4


async def test_a_model_without_weights_fails_naming_the_file_to_place(client, database, make_account, gpu_queue):
    account = await make_account("pro")
    track = await upload(client, account)

    job = await wait_for_state(database, (await separate(client, account, track["id"], "htdemucs_6s"))["job_id"],
                               "completed", "failed", timeout=60)

    assert job.state == "failed" and job.attempt == 1
    assert "place checkpoints/5c90dfd2-34c22ccb.th in the torch hub cache" in job.error and "TORCH_HOME" in job.error
    assert "/" + "checkpoints" not in job.error  # the file's place in the cache, not the server's path to it


async def test_separation_needs_the_pro_role(client, make_account):
    account = await make_account("user")
    track = await upload(client, account)

    response = await client.post("/api/processing/separate", json={"track_id": track["id"]}, headers=account.headers)

    assert response.status == 403


@pytest.mark.parametrize(("body", "fields"), [
    ({"track_id": "x"}, {"track_id"}),
    ({"track_id": 1, "model": "nope"}, {"model"}),
    ({"track_id": 1, "model": {}, "engine": []}, {"model", "engine"}),
    ({"track_id": 1, "engine": "cloud"}, {"engine"}),
    ({"track_id": 1, "engine": "lalalai"}, {"engine"}),
])
async def test_bad_requests_get_field_errors(client, make_account, body, fields):
    account = await make_account("pro")

    response = await client.post("/api/processing/separate", json=body, headers=account.headers)

    assert response.status == 422
    assert set((await response.json())["details"]) == fields


async def test_models_list_every_name_with_stems_and_whether_weights_are_present(client, make_account, tmp_path,
                                                                                monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    seed_checkpoint(tmp_path / "hub", MODELS["htdemucs"].files[0], htdemucs())
    account = await make_account()

    listed = (await (await client.get("/api/processing/models", headers=account.headers)).json())["data"]

    models = {model["name"]: model for model in listed["models"]}
    assert {"htdemucs", "htdemucs_ft", "htdemucs_6s", "mdx_extra", "hdemucs_high_musdb_plus"} <= set(models)
    assert models["htdemucs"]["weights_present"] and not models["mdx_extra"]["weights_present"]
    assert models["htdemucs"]["stems"] == ["drums", "bass", "other", "vocals"] and models["htdemucs"]["default"]
    assert all(model["description"] for model in models.values())
