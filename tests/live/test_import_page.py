"""The import page over the LiveView protocol: a Spotify album link imports each track with its download job
(against the fake Spotify), then the page navigates live to the dashboard with a flash."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sfa.config import Config
from tests.live.conftest import joined
from tests.spotify.fake_spotify import FakeSpotify, settings


@pytest.fixture
def config(tmp_path: Path, database_url: str, spotify: FakeSpotify) -> Config:
    return Config.from_env({"SFA_VAR_DIR": str(tmp_path / "var"), "SFA_DATA_DIR": str(tmp_path / "data"),
                            "DATABASE_URL": database_url, **settings(spotify)})


async def test_a_spotify_album_link_imports_its_tracks_and_navigates_home(signed_in, spotify, account, database):
    album = spotify.add_album("Night Drive", "The Synths", ["Neon", "Tunnel"], [181.0, 202.5])
    async with joined(signed_in, "/import") as (page, client):
        reply = await client.call(f"lv:{page.id}", "event", {
            "type": "form", "event": "import", "value": f"url=https%3A%2F%2Fopen.spotify.com%2Falbum%2F{album}"},
            client.join_ref)
        redirect = reply["response"]["live_redirect"]
        assert redirect["to"] == "/" and redirect["kind"] == "push" and redirect["flash"]
        # Live navigation, as the client does it: leave, then join the same topic with the new URL and the flash.
        assert (await client.call(f"lv:{page.id}", "phx_leave", {}, client.join_ref))["status"] == "ok"
        home = await client.call(f"lv:{page.id}", "phx_join", {
            "redirect": page.url.replace("/import", "/"), "params": {"_csrf_token": page.csrf},
            "session": page.session, "static": page.static, "flash": redirect["flash"]})
        rendered = json.dumps(home["response"]["rendered"])
        assert home["status"] == "ok" and "Importing 2 track(s) from Spotify." in rendered and "Neon" in rendered
    titles = await database.pool.fetch("SELECT title FROM tracks WHERE user_id = $1 ORDER BY id", account.user.id)
    assert [row["title"] for row in titles] == ["Neon", "Tunnel"]
    jobs = await database.pool.fetch("SELECT args FROM jobs WHERE user_id = $1 AND kind = 'download'", account.user.id)
    assert len(jobs) == 2 and all("spotify" in json.loads(row["args"]) for row in jobs)
    await database.pool.execute("UPDATE jobs SET state = 'cancelled' WHERE user_id = $1 AND state = 'queued'",
                                account.user.id)
