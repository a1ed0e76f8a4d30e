"""Analysis end to end: a generated song uploaded over HTTP, analysed by a real analysis worker process
through the durable queue, read back in the contract's shapes, and copied onto the track."""

from __future__ import annotations

import importlib.util
import io
from collections.abc import AsyncIterator

import numpy as np
import pytest
import soundfile
from aiohttp import FormData

from sfa.actors import WorkerPool
from sfa.config import Config
from tests.actors.conftest import job_pool, supervised_pool
from tests.dsp.dsp_synth import chord_progression, drum_loop
from tests.jobs.conftest import running_queue, wait_for_state

pytestmark = pytest.mark.embedded_only

SR = 22050


def song(bpm: float = 120.0) -> bytes:
    """A drum loop at ``bpm`` over an A minor progression with a chord per bar, twice, as a stereo WAV."""
    harmony = np.tile(chord_progression(9, "minor", sr=SR, chord_seconds=4 * 60 / bpm), 2)
    beat = drum_loop(bpm, sr=SR, seconds=len(harmony) / SR)[: len(harmony)]
    mono = 0.6 * beat / np.abs(beat).max() + 0.4 * harmony / np.abs(harmony).max()
    buffer = io.BytesIO()
    soundfile.write(buffer, np.stack([mono, mono], axis=1).astype(np.float32) * 0.8, SR, format="WAV")
    return buffer.getvalue()


async def upload(client, account, payload: bytes) -> dict:
    form = FormData()
    form.add_field("file", payload, filename="song.wav", content_type="audio/wav")
    response = await client.post("/api/tracks", data=form, headers=account.headers)
    assert response.status == 201, await response.text()
    return (await response.json())["data"]


@pytest.fixture
async def analysis_queue(config: Config, database) -> AsyncIterator[WorkerPool]:
    """One real analysis worker process in a supervised pool, fed by the durable queue."""
    async with supervised_pool(lambda bridge: job_pool(bridge, "analysis", workers=1)) as pool, \
            running_queue(database, config.replace(queue_poll_s=0.05), {"analysis": pool}, {"analysis": 1}):
        yield pool


async def analyze(client, account, track_id, features="all") -> dict:
    response = await client.post("/api/analysis/analyze", json={"track_id": track_id, "features": features},
                                 headers=account.headers)
    assert response.status == 201, await response.text()
    return (await response.json())["data"]


async def test_a_track_is_analysed_and_its_bpm_and_key_filled(client, database, make_account, analysis_queue):
    account = await make_account()
    track = await upload(client, account, song(120.0))

    started = await analyze(client, account, track["id"])
    assert started == {"job_id": started["job_id"], "track_id": track["id"], "status": "queued"}
    await wait_for_state(database, started["job_id"], "completed", timeout=60)

    job = (await (await client.get(f"/api/analysis/job/{started['job_id']}", headers=account.headers)).json())["data"]
    assert job["status"] == "completed" and job["progress"] == 100 and job["error"] is None
    result = job["result"]
    assert result["tempo"] == pytest.approx(120.0, rel=0.02)
    assert result["key"] == "A minor"
    for name in ("energy", "spectral_centroid", "spectral_rolloff", "zero_crossing_rate"):
        assert isinstance(result[name], float) and result[name] > 0
    assert len(result["features"]["mfcc"]) == 20 and len(result["features"]["chroma"]) == 12
    assert result["tempo_reason"] is None
    chords = result["chords"]
    assert len(chords) >= 0.8 * len(result["beats"]) and set(chords[0]) == {"time", "chord", "confidence"}
    assert {chord["chord"] for chord in chords} <= {"Am", "Dm", "E", "N"}

    stored = (await (await client.get(f"/api/analysis/{track['id']}", headers=account.headers)).json())["data"]
    assert stored["job_id"] == started["job_id"] and stored["result"] == result
    shown = (await (await client.get(f"/api/tracks/{track['id']}", headers=account.headers)).json())["data"]
    assert shown["bpm"] == pytest.approx(120.0, rel=0.02) and shown["key"] == "A minor"


async def test_a_track_without_a_pulse_gets_no_tempo_and_keeps_its_bpm_unset(client, database, make_account,
                                                                             analysis_queue):
    account = await make_account()
    buffer = io.BytesIO()
    soundfile.write(buffer, np.zeros(SR * 4, dtype=np.float32), SR, format="WAV")
    track = await upload(client, account, buffer.getvalue())

    started = await analyze(client, account, track["id"])
    job = await wait_for_state(database, started["job_id"], "completed", timeout=60)

    assert job.result["tempo"] is None and job.result["tempo_reason"] == "silence: no onsets"
    assert job.result["beats"] == [] and job.result["chords"] == [] and job.result["key"] is None
    stored = (await (await client.get(f"/api/analysis/{track['id']}", headers=account.headers)).json())["data"]
    assert stored["result"]["tempo"] is None
    shown = (await (await client.get(f"/api/tracks/{track['id']}", headers=account.headers)).json())["data"]
    assert shown["bpm"] is None and shown["key"] is None
    exported = await client.get(f"/export/analysis/{track['id']}", headers=account.headers)
    assert exported.status == 200 and (await exported.json())["result"]["tempo"] is None


async def test_analysis_keeps_what_the_user_set(client, database, make_account, analysis_queue):
    account = await make_account()
    track = await upload(client, account, song(100.0))
    patched = await client.patch(f"/api/tracks/{track['id']}", json={"bpm": 99, "key": "C major"},
                                 headers=account.headers)
    assert patched.status == 200

    started = await analyze(client, account, track["id"], ["tempo", "key"])
    job = await wait_for_state(database, started["job_id"], "completed", timeout=60)

    assert set(job.result) >= {"tempo", "key"} and "features" not in job.result
    shown = (await (await client.get(f"/api/tracks/{track['id']}", headers=account.headers)).json())["data"]
    assert (shown["bpm"], shown["key"]) == (99, "C major")


async def test_a_broken_file_fails_its_job_readably_and_the_worker_carries_on(client, database, config,
                                                                             make_account, analysis_queue):
    account = await make_account()
    broken, fine = await upload(client, account, song()), await upload(client, account, song())
    (config.data_dir / f"tracks/{broken['id']}/original.wav").write_bytes(b"RIFF garbage that is not audio")

    failed = await wait_for_state(database, (await analyze(client, account, broken["id"]))["job_id"], "failed",
                                  timeout=60)
    done = await wait_for_state(database, (await analyze(client, account, fine["id"]))["job_id"], "completed",
                                timeout=60)

    assert failed.attempt == 1 and len(failed.errors) == 1
    assert failed.error == "cannot analyse this track: cannot decode original.wav: Format not recognised."
    assert "died" not in failed.error
    assert done.result["key"] == "A minor"


@pytest.mark.skipif(importlib.util.find_spec("cupy") is not None, reason="needs a host without CuPy")
async def test_the_configured_dsp_backend_reaches_the_worker(client, database, config, make_account):
    account = await make_account()
    track = await upload(client, account, song())
    async with supervised_pool(lambda bridge: job_pool(bridge, "analysis", workers=1)) as pool, \
            running_queue(database, config.replace(queue_poll_s=0.05, dsp_backend="cupy"), {"analysis": pool},
                          {"analysis": 1}):
        failed = await wait_for_state(database, (await analyze(client, account, track["id"]))["job_id"], "failed",
                                      timeout=60)

    assert failed.attempt == 1
    assert failed.error == ("analysis is unavailable on this server: the cupy DSP backend needs CuPy, which is "
                            "not installed")


async def test_a_track_id_may_be_its_decimal_string_and_is_read_like_the_number(client, make_account):
    owner, other = await make_account(), await make_account()
    track = await upload(client, owner, song())

    started = await analyze(client, owner, str(track["id"]))
    assert started["track_id"] == track["id"]
    refused = await client.post("/api/analysis/analyze", json={"track_id": str(track["id"])}, headers=other.headers)
    assert (refused.status, (await refused.json())["code"]) == (404, "NOT_FOUND")
    padded = await client.get(f"/api/tracks/0{track['id']}", headers=owner.headers)
    assert padded.status == 404


@pytest.mark.parametrize(("body", "details"), [
    ({"track_id": "one"}, {"track_id": ["must be the id of one of your tracks"]}),
    ({"track_id": "-1"}, {"track_id": ["must be the id of one of your tracks"]}),
    ({"track_id": 1.0}, {"track_id": ["must be the id of one of your tracks"]}),
    ({"track_id": 1, "features": ["tempo", "loudness"]},
     {"features": ["must be all, or a list of tempo, key, energy, spectral, mfcc, chroma, chords"]}),
    ({"track_id": 1, "features": []},
     {"features": ["must be all, or a list of tempo, key, energy, spectral, mfcc, chroma, chords"]}),
])
async def test_bad_requests_are_422_with_details(client, make_account, body, details):
    response = await client.post("/api/analysis/analyze", json=body, headers=(await make_account()).headers)

    assert response.status == 422
    assert (await response.json())["details"] == details


async def test_other_users_tracks_and_jobs_are_404(client, make_account):
    owner, other = await make_account(), await make_account()
    track = await upload(client, owner, song())
    job = await analyze(client, owner, track["id"])

    for method, path, body in (("POST", "/api/analysis/analyze", {"track_id": track["id"]}),
                               ("GET", f"/api/analysis/job/{job['job_id']}", None),
                               ("GET", f"/api/analysis/{track['id']}", None)):
        response = await client.request(method, path, json=body, headers=other.headers)
        assert response.status == 404, path
        assert (await response.json())["code"] == "NOT_FOUND"
