"""Uploads are decoded in limited child processes: a file built to decode slowly is refused at the limit
without stalling the server, while the same file passes under a generous limit."""

import asyncio
import contextlib
import time

import numpy as np
import psutil
import pytest
import soundfile

from tests.tracks.test_tracks_api import form

SLOW_MINUTES = 60


@pytest.fixture(scope="module")
def slow_flac(tmp_path_factory) -> bytes:
    """An hour of silence: under a megabyte of FLAC that decodes to 173 million frames (seconds of work)."""
    path = tmp_path_factory.mktemp("slow") / "silence.flac"
    minute = np.zeros((48000 * 60, 2), dtype=np.int16)
    with soundfile.SoundFile(path, "w", samplerate=48000, channels=2, format="FLAC") as out:
        for _ in range(SLOW_MINUTES):
            out.write(minute)
    return path.read_bytes()


def decoding_children() -> list[psutil.Process]:
    """The children of this process's forkserver: the decoders still running. (Other children, such as the
    processes of a supervision tree an earlier test stopped, may be zombies by now.)"""
    forkservers = []
    for child in psutil.Process().children():
        with contextlib.suppress(psutil.Error):
            if "multiprocessing.forkserver" in " ".join(child.cmdline()):
                forkservers.append(child)
    assert forkservers, "no forkserver: the uploads were not decoded in child processes"
    return [decoder for forkserver in forkservers for decoder in forkserver.children()]


async def test_a_file_that_decodes_slowly_is_refused_at_the_limit_while_the_server_answers(
        make_account, config, aiohttp_client_factory, slow_flac):
    client = await aiohttp_client_factory(config.replace(upload_decode_timeout_s=0.5, upload_decoders=2))
    account = await make_account()

    async def upload() -> tuple[int, dict]:
        response = await client.post("/api/tracks", data=form(slow_flac), headers=account.headers)
        return response.status, await response.json()

    async def health_while(uploads: asyncio.Future) -> list[float]:
        latencies = []
        while not uploads.done():
            started = time.perf_counter()
            assert (await client.get("/health")).status == 200
            latencies.append(time.perf_counter() - started)
            await asyncio.sleep(0.05)
        return latencies

    uploads = asyncio.gather(*(upload() for _ in range(3)))
    latencies = await health_while(uploads)
    answers = await uploads

    assert len(slow_flac) < 1 << 20
    for status, body in answers:
        assert status == 422
        assert body["details"] == {"file": ["the file takes longer than 0.5s to decode"]}
    assert latencies and max(latencies) < 1.0
    assert decoding_children() == []
    assert list((config.data_dir / "tmp").iterdir()) == []


async def test_the_same_file_passes_under_a_generous_limit(make_account, config, aiohttp_client_factory,
                                                           slow_flac):
    client = await aiohttp_client_factory(config.replace(upload_decode_timeout_s=120))

    response = await client.post("/api/tracks", data=form(slow_flac), headers=(await make_account()).headers)

    assert response.status == 201
    assert (await response.json())["data"]["duration"] == SLOW_MINUTES * 60
