"""``/api/spotify``: the real routes and client against the fake Spotify on a local socket."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient, TestServer

from sfa.web import make_app
from tests.spotify.fake_spotify import FakeSpotify


@pytest.fixture
def album(spotify: FakeSpotify) -> str:
    return spotify.add_album("Night Drive", "The Synths", ["Neon", "Tunnel", "Dawn"], [181.0, 202.5, 240.0])


async def post(client, account, path: str, body: dict):
    response = await client.post(path, json=body, headers=account.headers)
    return response.status, await response.json()


async def test_every_route_answers_503_while_spotify_is_not_configured(config, database, make_account):
    async with TestClient(TestServer(make_app(config.replace(spotify_client_id=None), database))) as client:
        await _answers_503(client, await make_account())


async def _answers_503(client, account) -> None:
    for method, path in [("GET", "/api/spotify/search?q=x"), ("GET", "/api/spotify/track/4uLU6hMCjMI75M1A2tKUQC"),
                         ("POST", "/api/spotify/fetch"), ("POST", "/api/spotify/import")]:
        response = await client.request(method, path, json={"url": "spotify:track:4uLU6hMCjMI75M1A2tKUQC"},
                                        headers=account.headers)
        assert response.status == 503
        assert (await response.json())["code"] == "SPOTIFY_NOT_CONFIGURED"
    page = await client.get("/auth/spotify", allow_redirects=False)
    assert page.status == 503 and "SFA_SPOTIFY_CLIENT_ID" in await page.text()


@pytest.mark.parametrize("form", [
    "https://open.spotify.com/track/{id}",
    "https://open.spotify.com/track/{id}?si=1a2b3c4d5e6f",
    "https://open.spotify.com/intl-de/track/{id}?si=abc",
    "spotify:track:{id}",
])
async def test_fetch_a_track_from_any_form_of_its_link(client, make_account, spotify, album, form):
    track_id = spotify.albums[album]["track_ids"][1]
    status, body = await post(client, await make_account(), "/api/spotify/fetch", {"url": form.format(id=track_id)})
    assert status == 200, body
    assert body["data"]["type"] == "track"
    assert body["data"]["track"] == {
        "spotify_id": track_id, "title": "Tunnel", "artists": ["The Synths"], "album": "Night Drive",
        "duration_ms": 202500, "isrc": "DEA124000002", "artwork_url": f"https://i.scdn.co/image/{album}-640",
        "url": f"https://open.spotify.com/track/{track_id}", "explicit": False, "track_number": 2}


async def test_fetch_an_album_gives_every_track_with_its_isrc(client, make_account, spotify, album):
    status, body = await post(client, await make_account(), "/api/spotify/fetch",
                              {"url": f"https://open.spotify.com/intl-de/album/{album}?si=x"})
    assert status == 200
    assert body["data"]["type"] == "album" and body["data"]["album"]["name"] == "Night Drive"
    assert [t["title"] for t in body["data"]["tracks"]] == ["Neon", "Tunnel", "Dawn"]
    assert [t["isrc"] for t in body["data"]["tracks"]] == ["DEA124000001", "DEA124000002", "DEA124000003"]


async def test_a_playlist_of_1000_items_is_paged_through_completely(client, make_account, spotify):
    spotify.add_album("Big", "Many", [f"Song {n}" for n in range(1000)])
    playlist = spotify.add_playlist("Everything", list(spotify.tracks))
    status, body = await post(client, await make_account(), "/api/spotify/fetch",
                              {"url": f"spotify:playlist:{playlist}"})
    assert status == 200
    assert body["data"]["type"] == "playlist" and body["data"]["playlist"]["total_tracks"] == 1000
    assert [t["title"] for t in body["data"]["tracks"]] == [f"Song {n}" for n in range(1000)]
    pages = [call for call in spotify.calls if call.startswith(f"/v1/playlists/{playlist}")]
    assert len(pages) == 10


@pytest.mark.parametrize("url", ["https://example.com/track/4uLU6hMCjMI75M1A2tKUQC",
                                 "spotify:artist:4uLU6hMCjMI75M1A2tKUQC", "https://open.spotify.com/track/short",
                                 "", 42, None])
async def test_what_is_not_a_spotify_link_is_invalid_url(client, make_account, url):
    status, body = await post(client, await make_account(), "/api/spotify/fetch", {"url": url})
    assert status == 422 and body["code"] == "INVALID_URL" and "url" in body["details"]


async def test_an_unknown_track_is_404(client, make_account):
    response = await client.get("/api/spotify/track/0000000000000000000000", headers=(await make_account()).headers)
    assert response.status == 404 and (await response.json())["code"] == "NOT_FOUND"


async def test_users_without_a_link_use_the_apps_client_credentials(client, make_account, spotify, album):
    track_id = spotify.albums[album]["track_ids"][0]
    response = await client.get(f"/api/spotify/track/{track_id}", headers=(await make_account()).headers)
    assert response.status == 200 and (await response.json())["data"]["title"] == "Neon"
    assert [grant["user"] for grant in spotify.access.values()] == [None]


async def test_429_waits_out_retry_after_and_5xx_is_retried(client, make_account, spotify, album):
    track_id = spotify.albums[album]["track_ids"][0]
    spotify.fail(f"/v1/tracks/{track_id}", 429, retry_after=1)
    spotify.fail(f"/v1/tracks/{track_id}", 503, times=2)
    response = await client.get(f"/api/spotify/track/{track_id}", headers=(await make_account()).headers)
    assert response.status == 200
    assert spotify.calls.count(f"/v1/tracks/{track_id}") == 4


async def test_spotify_failing_for_good_is_a_502(client, make_account, spotify, album):
    track_id = spotify.albums[album]["track_ids"][0]
    spotify.fail(f"/v1/tracks/{track_id}", 500, times=100)
    response = await client.get(f"/api/spotify/track/{track_id}", headers=(await make_account()).headers)
    body = await response.json()
    assert response.status == 502 and body["code"] == "SPOTIFY_ERROR" and "500" in body["error"]


async def test_an_expired_app_token_is_renewed_once(client, make_account, spotify, album):
    account = await make_account()
    track_ids = spotify.albums[album]["track_ids"]
    assert (await client.get(f"/api/spotify/track/{track_ids[0]}", headers=account.headers)).status == 200
    spotify.expire_access_tokens()
    assert (await client.get(f"/api/spotify/track/{track_ids[1]}", headers=account.headers)).status == 200
    assert len(spotify.access) == 2


async def test_search_is_paginated_in_the_contracts_meta(client, make_account, spotify):
    spotify.add_album("Gold", "Band", [f"Gold {n}" for n in range(45)])
    response = await client.get("/api/spotify/search?q=gold&type=track&limit=20&offset=40",
                                headers=(await make_account()).headers)
    body = await response.json()
    assert response.status == 200
    assert [t["title"] for t in body["data"]] == [f"Gold {n}" for n in range(40, 45)]
    assert body["meta"] == {"page": 3, "page_size": 20, "total_count": 45, "total_pages": 3}


@pytest.mark.parametrize("query", ["q=", "q=x&type=show", "q=x&limit=0", "q=x&limit=51", "q=x&offset=-1"])
async def test_bad_search_parameters_are_refused(client, make_account, query):
    response = await client.get(f"/api/spotify/search?{query}", headers=(await make_account()).headers)
    assert response.status in (400, 422) and "code" in await response.json()


async def test_album_metadata_is_cached(client, make_account, spotify, album):
    account = await make_account()
    for _ in range(3):
        status, _ = await post(client, account, "/api/spotify/fetch", {"url": f"spotify:album:{album}"})
        assert status == 200
    assert [call.partition("?")[0] for call in spotify.calls] == [f"/v1/albums/{album}", "/v1/tracks"]
