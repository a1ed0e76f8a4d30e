"""``POST /api/spotify/import``: track rows with their Spotify metadata and one download job each, together."""

from __future__ import annotations

from tests.spotify.fake_spotify import FakeSpotify


async def import_(client, account, url: str, **extra):
    response = await client.post("/api/spotify/import", json={"url": url, **extra}, headers=account.headers)
    return response.status, await response.json()


async def test_an_album_import_creates_each_track_and_its_download_job(client, make_account, spotify: FakeSpotify,
                                                                       database):
    album = spotify.add_album("Night Drive", "The Synths", ["Neon", "Tunnel", "Dawn"], [181.0, 202.5, 240.0])
    account = await make_account()
    status, body = await import_(client, account, f"https://open.spotify.com/album/{album}?si=abc", quality="medium")
    assert status == 201, body
    data = body["data"]
    assert data["type"] == "album" and len(data["tracks"]) == 3 and len(data["job_ids"]) == 3
    rows = await database.pool.fetch(
        "SELECT t.id, t.title, t.artist, t.source, t.source_url, s.spotify_id, s.artists, s.album, s.duration_ms, "
        "s.isrc, s.artwork_url, j.id AS job_id, j.kind, j.state, j.args FROM tracks t "
        "JOIN spotify_tracks s ON s.track_id = t.id JOIN jobs j ON j.track_id = t.id "
        "WHERE t.user_id = $1 ORDER BY t.id", account.user.id)
    assert [row["title"] for row in rows] == ["Neon", "Tunnel", "Dawn"]
    assert [row["job_id"] for row in rows] == data["job_ids"]
    first = rows[0]
    assert (first["artist"], first["source"], first["album"], first["duration_ms"], first["isrc"]) == \
        ("The Synths", "spotify", "Night Drive", 181000, "DEA124000001")
    assert first["artists"] == ["The Synths"] and first["artwork_url"].endswith("-640")
    assert first["source_url"] == f"https://open.spotify.com/track/{first['spotify_id']}"
    assert (first["kind"], first["state"]) == ("download", "queued")
    assert '"quality": "medium"' in first["args"] and '"duration_ms": 181000' in first["args"]

    jobs = await client.get("/api/jobs", headers=account.headers)
    assert (await jobs.json())["meta"]["total_count"] == 3


async def test_importing_again_reuses_the_users_tracks(client, make_account, spotify: FakeSpotify, database):
    album = spotify.add_album("Twice", "Echo", ["One", "Two"])
    playlist = spotify.add_playlist("Mix", spotify.albums[album]["track_ids"][1:] * 2)
    account, other = await make_account(), await make_account()
    status, first = await import_(client, account, f"spotify:album:{album}")
    assert status == 201
    status, again = await import_(client, account, f"spotify:playlist:{playlist}")
    assert status == 201 and len(again["data"]["tracks"]) == 1
    assert again["data"]["tracks"][0]["track_id"] == first["data"]["tracks"][1]["track_id"]
    assert again["data"]["tracks"][0]["created"] is False
    assert await database.pool.fetchval("SELECT count(*) FROM tracks WHERE user_id = $1", account.user.id) == 2
    status, theirs = await import_(client, other, f"spotify:album:{album}")
    assert status == 201 and all(track["created"] for track in theirs["data"]["tracks"])


async def test_an_import_that_fails_creates_nothing(client, make_account, spotify: FakeSpotify, database):
    account = await make_account()
    status, body = await import_(client, account, "spotify:album:0000000000000000000000")
    assert status == 404
    status, body = await import_(client, account, "spotify:track:0000000000000000000000", quality="ultra")
    assert status == 422 and "quality" in body["details"]
    assert await database.pool.fetchval("SELECT count(*) FROM tracks WHERE user_id = $1", account.user.id) == 0


async def test_a_500_track_playlist_import_makes_bounded_calls(client, make_account, spotify: FakeSpotify):
    album = spotify.add_album("Long", "Band", [f"Track {n}" for n in range(500)])
    playlist = spotify.add_playlist("Long list", spotify.albums[album]["track_ids"])
    status, body = await import_(client, await make_account(), f"spotify:playlist:{playlist}")
    assert status == 201 and len(body["data"]["job_ids"]) == 500
    assert len(spotify.calls) == 5
    status, body = await import_(client, await make_account(), f"spotify:album:{album}")
    assert status == 201 and len(spotify.calls) == 5 + 10
