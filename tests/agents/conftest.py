"""A user's library with and without stored analysis, the fake LLM server, and a chat helper."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from sfa.tracks.store import create_track, set_track_file
from tests.agents.fake_llm import FakeLLM
from tests.fakes import serving


@pytest.fixture
async def llm() -> AsyncIterator[FakeLLM]:
    """The fake LLM server on a real local socket."""
    async with serving(FakeLLM()) as fake:
        yield fake


@pytest.fixture
def add_track(database) -> Callable[..., Awaitable[int]]:
    """Store a track with audio for ``account``; with ``key`` and ``tempo``, also an analysis result (filling
    the row's key and bpm as an analysis job does)."""

    async def add(account, title: str, artist: str | None = None, *, key: str | None = None,
                  tempo: float | None = None, energy: float = 0.5) -> int:
        async with database.pool.acquire() as conn:
            track = await create_track(conn, account.user.id, title=title, artist=artist, source="upload")
            await set_track_file(conn, track.id, path=f"tracks/{track.id}/audio.wav", format="wav",
                                 file_size=1000, duration_s=215.0, sample_rate=44100, channels=2)
            if key is not None:
                result = {"tempo": tempo, "key": key, "energy": energy, "spectral_centroid": 1800.0}
                await conn.execute("INSERT INTO analysis_results (track_id, result) VALUES ($1, $2)", track.id,
                                   json.dumps(result))
                await conn.execute("UPDATE tracks SET bpm = $2, key = $3 WHERE id = $1", track.id, tempo, key)
        return track.id

    return add


@pytest.fixture
def chat(client) -> Callable[..., Awaitable[tuple[int, dict[str, Any]]]]:
    """POST /api/agents/chat as ``account``: the status and the decoded body."""

    async def send(account, message: str, conversation_id: int | None = None) -> tuple[int, dict[str, Any]]:
        body: dict[str, Any] = {"message": message}
        if conversation_id is not None:
            body["conversation_id"] = conversation_id
        response = await client.post("/api/agents/chat", json=body, headers=account.headers)
        return response.status, await response.json()

    return send
