"""``/api/tracks``: upload, list, read, change and delete, through the real app on a real socket."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from aiohttp import FormData

from sfa.tracks.metadata import KEYS
from sfa.tracks.store import list_tracks
from sfa.web.envelope import dumps
from tests.tracks.audio import audio_bytes


def form(payload: bytes, filename: str = "song.wav", **fields: str) -> FormData:
    body = FormData()
    for name, value in fields.items():
        body.add_field(name, value)
    body.add_field("file", payload, filename=filename, content_type="application/octet-stream")
    return body


async def upload(client, account, payload: bytes | None = None, **kwargs) -> dict:
    response = await client.post("/api/tracks", data=form(payload or audio_bytes(), **kwargs), headers=account.headers)
    assert response.status == 201, await response.text()
    return (await response.json())["data"]


@pytest.mark.parametrize("extension", ["wav", "flac", "ogg", "mp3"])
async def test_upload_records_the_decoded_audio(client, make_account, config, extension):
    account = await make_account()
    payload = audio_bytes(extension, 1.0, sample_rate=22050, channels=2)
    track = await upload(client, account, payload, filename=f"My Song.{extension}", artist="Band")
    assert track["title"] == "My Song" and track["artist"] == "Band" and track["source"] == "upload"
    assert track["format"] == extension and track["sample_rate"] == 22050 and track["channels"] == 2
    assert track["duration"] == pytest.approx(1.0, abs=0.1)
    assert track["file_size"] == len(payload)
    assert track["file_url"] == f"/files/tracks/{track['id']}/original.{extension}"
    stored = config.data_dir / "tracks" / str(track["id"]) / f"original.{extension}"
    assert stored.read_bytes() == payload
    assert list((config.data_dir / "tmp").iterdir()) == []


async def test_upload_takes_title_field(client, make_account):
    track = await upload(client, await make_account(), title="Given Title")
    assert track["title"] == "Given Title"


async def test_upload_text_postgresql_cannot_store_is_422_and_a_filename_loses_it(client, make_account, config):
    account = await make_account()

    refused = await client.post("/api/tracks", data=form(audio_bytes(), artist="a\x00b"), headers=account.headers)
    # By hand: aiohttp's client would percent-encode the % itself.
    body = (b'--b\r\nContent-Disposition: form-data; name="file"; filename="So%00ng.wav"\r\n\r\n'
            + audio_bytes() + b"\r\n--b--\r\n")
    created = await client.post("/api/tracks", data=body, headers={
        **account.headers, "Content-Type": "multipart/form-data; boundary=b"})

    assert refused.status == 422
    assert (await refused.json())["details"] == {
        "artist": ["text must not contain NUL characters or unpaired surrogates"]}
    assert list((config.data_dir / "tmp").iterdir()) == []
    assert created.status == 201 and (await created.json())["data"]["title"] == "Song"


async def test_a_multipart_part_with_broken_headers_is_400(client, make_account):
    body = b"--b\r\n\xc2\xa3\xf2--b--\r\n"
    response = await client.post("/api/tracks", data=body, headers={
        **(await make_account()).headers, "Content-Type": "multipart/form-data; boundary=b"})

    assert response.status == 400
    assert await response.json() == {"error": "malformed multipart body: a part's headers are invalid",
                                      "code": "BAD_REQUEST"}


@pytest.mark.parametrize("payload", [b"not audio at all" * 100, b"RIFF" + b"\x00" * 4000,
                                     audio_bytes("flac")[:200]], ids=["text", "bad-wav", "truncated-flac"])
async def test_corrupt_or_non_audio_upload_is_422(client, make_account, config, payload):
    account = await make_account()
    response = await client.post("/api/tracks", data=form(payload), headers=account.headers)
    assert response.status == 422
    body = await response.json()
    assert body["code"] == "VALIDATION_ERROR" and body["details"]["file"][0].startswith("not a readable audio file")
    assert "/" not in body["details"]["file"][0] and ".part" not in body["details"]["file"][0]
    assert list((config.data_dir / "tmp").iterdir()) == []


async def test_upload_without_file_is_422(client, make_account):
    account = await make_account()
    body = FormData()
    body.add_field("title", "x")
    body.add_field("other", b"x", filename="x.bin")
    response = await client.post("/api/tracks", data=body, headers=account.headers)
    assert response.status == 422 and "file" in (await response.json())["details"]


async def test_oversized_upload_is_413(make_account, config, database, aiohttp_client_factory):
    client = await aiohttp_client_factory(config.replace(max_upload_mb=1))
    account = await make_account()
    payload = audio_bytes("wav", 30.0, sample_rate=22050)
    assert len(payload) > 1 << 20
    response = await client.post("/api/tracks", data=form(payload), headers=account.headers)
    assert response.status == 413
    assert (await response.json())["code"] == "PAYLOAD_TOO_LARGE"
    assert not list((config.data_dir / "tracks").glob("*"))


async def test_list_is_newest_first_paginated_and_filtered(client, make_account):
    account, other = await make_account(), await make_account()
    for title, artist in [("Alpha", "Zed"), ("Beta", "Quux"), ("Gamma 100%", "Zed")]:
        await upload(client, account, title=title, artist=artist)
    await upload(client, other, title="Alpha")
    response = await client.get("/api/tracks?page_size=2", headers=account.headers)
    body = await response.json()
    assert [t["title"] for t in body["data"]] == ["Gamma 100%", "Beta"]
    assert body["meta"] == {"page": 1, "page_size": 2, "total_count": 3, "total_pages": 2}
    body = await (await client.get("/api/tracks?q=zed", headers=account.headers)).json()
    assert [t["title"] for t in body["data"]] == ["Gamma 100%", "Alpha"]
    body = await (await client.get("/api/tracks?q=100%25", headers=account.headers)).json()
    assert [t["title"] for t in body["data"]] == ["Gamma 100%"]
    body = await (await client.get("/api/tracks?q=_", headers=account.headers)).json()
    assert body["data"] == []


ODD_TEXT = ["plain", 'quote " backslash \\ slash /', "tab\tnew\nline\x01\x1f\x7f", "é Ω 中文 😀", "\u2028\ufeff"]
# bpm must be 20..300; the durations span PostgreSQL's plain and exponent spellings below 1e15.
ODD_FLOATS = [(120.0, 0.0), (20.5, 1e-05), (299.99999999999994, 213.33333333333334), (None, 99999999999999.9),
              (33.3, 123456789012.0), (None, 0.1 + 0.2)]


async def test_the_listing_made_by_postgresql_is_byte_for_byte_the_python_one(client, make_account, database):
    """The page's JSON is written by PostgreSQL (``list_tracks_json``); every kind of value a track holds
    comes out as ``dumps`` writes ``Track.to_json``, the API's one form of a track."""
    account = await make_account()
    for index, ((bpm, duration), text) in enumerate(zip(ODD_FLOATS * 2, ODD_TEXT * 3, strict=False)):
        await database.pool.execute(
            "INSERT INTO tracks (user_id, title, artist, source, source_url, path, format, file_size, duration_s,"
            " sample_rate, channels, bpm, key, tags, inserted_at) VALUES ($1, $2, $3, 'upload', $4, $5, $6, $7, $8,"
            " $9, $10, $11, $12, $13, $14)",
            account.user.id, text, None if index % 3 else text, None if index % 2 else f"https://x.test/{text}",
            None if index % 4 == 1 else f"tracks/{index}/original.wav", "wav", 10**12 + index, duration,
            44100, 2, bpm, None if index % 2 else "A minor", [] if index % 3 == 1 else [text, "", "b"],
            datetime(2026, 1, 2, 3, 4, 5, [0, 120000, 999999, 1][index % 4], tzinfo=UTC))
    found, total = await list_tracks(database, account.user.id, q=None, offset=0, limit=100)

    body = await (await client.get("/api/tracks?page_size=100", headers=account.headers)).read()

    assert total == len(found) == 12
    assert body == dumps({"data": [track.to_json() for track in found],
                          "meta": {"page": 1, "page_size": 100, "total_count": 12, "total_pages": 1}}).encode()
    past_the_end = await client.get("/api/tracks?page=3&page_size=10", headers=account.headers)
    assert await past_the_end.read() == (b'{"data":[],"meta":{"page":3,"page_size":10,"total_count":12,'
                                         b'"total_pages":2}}')
    assert past_the_end.headers["Content-Type"] == "application/json; charset=utf-8"


async def test_show_has_stems_and_analysis_summary(client, make_account, database):
    account = await make_account()
    track = await upload(client, account)
    await database.pool.execute("INSERT INTO stems (track_id, name, model, path) VALUES ($1, 'vocals', 'htdemucs', $2)",
                                track["id"], f"tracks/{track['id']}/stems/vocals.wav")
    await database.pool.execute("INSERT INTO analysis_results (track_id, result) VALUES ($1, $2)", track["id"],
                                '{"tempo": 120.5, "key": "A minor", "energy": 0.3, "features": {"mfcc": [[1]]}}')
    body = await (await client.get(f"/api/tracks/{track['id']}", headers=account.headers)).json()
    assert [s["name"] for s in body["data"]["stems"]] == ["vocals"]
    assert body["data"]["analysis"]["tempo"] == 120.5 and body["data"]["analysis"]["key"] == "A minor"
    assert "features" not in body["data"]["analysis"]


async def test_patch_changes_fields(client, make_account):
    account = await make_account()
    track = await upload(client, account)
    change = {"title": "  New  ", "bpm": 128, "key": "C# major", "tags": ["house", "a" * 40]}
    response = await client.patch(f"/api/tracks/{track['id']}", json=change, headers=account.headers)
    assert response.status == 200
    got = (await response.json())["data"]
    assert (got["title"], got["bpm"], got["key"], got["tags"]) == ("New", 128, "C# major", ["house", "a" * 40])
    response = await client.patch(f"/api/tracks/{track['id']}", json={"bpm": None, "key": None},
                                  headers=account.headers)
    assert (await response.json())["data"]["bpm"] is None


@pytest.mark.parametrize(("change", "field"), [
    ({"bpm": 19}, "bpm"), ({"bpm": 300.5}, "bpm"), ({"bpm": "fast"}, "bpm"), ({"bpm": True}, "bpm"),
    ({"key": "H major"}, "key"), ({"key": "a minor"}, "key"), ({"tags": ["x"] * 21}, "tags"),
    ({"tags": ["a" * 41]}, "tags"), ({"tags": "rock"}, "tags"), ({"tags": [1]}, "tags"),
    ({"title": ""}, "title"), ({"title": 5}, "title"), ({"duration": 3}, "duration"), ({}, "body"),
])
async def test_patch_bad_values_are_422_with_details(client, make_account, change, field):
    account = await make_account()
    track = await upload(client, account)
    response = await client.patch(f"/api/tracks/{track['id']}", json=change, headers=account.headers)
    assert response.status == 422
    body = await response.json()
    assert body["code"] == "VALIDATION_ERROR" and field in body["details"]


def test_there_are_24_keys():
    assert len(set(KEYS)) == 24 and "A minor" in KEYS and "C# major" in KEYS


async def test_delete_removes_every_file(client, make_account, config):
    account = await make_account()
    track = await upload(client, account)
    folder = config.data_dir / "tracks" / str(track["id"])
    (folder / "stems").mkdir()
    (folder / "stems" / "1.wav").write_bytes(audio_bytes())
    response = await client.delete(f"/api/tracks/{track['id']}", headers=account.headers)
    assert response.status == 204
    assert not folder.exists()
    assert (await client.get(f"/api/tracks/{track['id']}", headers=account.headers)).status == 404


@pytest.mark.parametrize(("method", "suffix"), [("GET", ""), ("PATCH", ""), ("DELETE", "")])
async def test_another_users_track_is_404(client, make_account, config, method, suffix):
    owner, stranger = await make_account(), await make_account()
    track = await upload(client, owner)
    response = await client.request(method, f"/api/tracks/{track['id']}{suffix}", json={"title": "x"},
                                    headers=stranger.headers)
    assert response.status == 404
    assert (config.data_dir / "tracks" / str(track["id"])).exists()
    assert (await client.get(f"/api/tracks/{track['id']}", headers=owner.headers)).status == 200


async def test_unauthenticated_is_401(client):
    assert (await client.get("/api/tracks")).status == 401
