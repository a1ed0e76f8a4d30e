"""``/export/*`` and ``/files/*``: the owner's stems, zip and analysis; Range for seeking; 404 for the rest."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from aiohttp import FormData

from tests.tracks.audio import audio_bytes


@pytest.fixture
async def owned(client, make_account, database, config):
    """An account with an uploaded track, two stem files and an analysis result."""
    account = await make_account()
    body = FormData()
    body.add_field("file", audio_bytes("wav", 1.0), filename="Song.wav")
    track = (await (await client.post("/api/tracks", data=body, headers=account.headers)).json())["data"]
    stems = {}
    for name in ("vocals", "drums"):
        relative = f"tracks/{track['id']}/stems/{name}.wav"
        (config.data_dir / relative).parent.mkdir(parents=True, exist_ok=True)
        (config.data_dir / relative).write_bytes(audio_bytes("wav", 0.5) + name.encode())
        stems[name] = await database.pool.fetchval(
            "INSERT INTO stems (track_id, name, model, path) VALUES ($1, $2, 'htdemucs', $3) RETURNING id",
            track["id"], name, relative)
    await database.pool.execute("INSERT INTO analysis_results (track_id, result) VALUES ($1, $2)", track["id"],
                                json.dumps({"tempo": 99.0, "key": "A minor"}))
    return account, track, stems


async def test_one_stem_downloads_as_an_attachment(client, owned, config):
    account, track, stems = owned
    response = await client.get(f"/export/stem/{stems['vocals']}", headers=account.headers)
    assert response.status == 200
    assert await response.read() == (config.data_dir / f"tracks/{track['id']}/stems/vocals.wav").read_bytes()
    assert response.headers["Content-Disposition"] == 'attachment; filename="vocals.wav"'


async def test_every_stem_comes_as_one_streamed_zip(client, owned, config):
    account, track, _ = owned
    response = await client.get(f"/export/stems/{track['id']}", headers=account.headers)
    assert response.status == 200 and response.headers["Content-Type"] == "application/zip"
    assert "Content-Length" not in response.headers
    with zipfile.ZipFile(io.BytesIO(await response.read())) as archive:
        assert sorted(archive.namelist()) == ["drums.wav", "vocals.wav"]
        assert archive.testzip() is None
        folder = config.data_dir / f"tracks/{track['id']}/stems"
        assert archive.read("drums.wav") == (folder / "drums.wav").read_bytes()


async def test_analysis_exports_as_json(client, owned):
    account, track, _ = owned
    response = await client.get(f"/export/analysis/{track['id']}", headers=account.headers)
    assert response.status == 200
    body = json.loads(await response.read())
    assert body["track_id"] == track["id"] and body["result"] == {"tempo": 99.0, "key": "A minor"}


async def test_files_serve_ranges_for_seeking(client, owned, config):
    account, track, _ = owned
    whole = (config.data_dir / track["file_url"].removeprefix("/files/")).read_bytes()
    response = await client.get(track["file_url"], headers=account.headers)
    assert response.status == 200 and await response.read() == whole
    response = await client.get(track["file_url"], headers={**account.headers, "Range": "bytes=100-199"})
    assert response.status == 206 and await response.read() == whole[100:200]
    assert response.headers["Content-Range"] == f"bytes 100-199/{len(whole)}"


@pytest.mark.parametrize("path", [
    "/files/../secret_key", "/files/tracks/{id}/../../../var/secret_key", "/files/tracks/{id}/%2e%2e/%2e%2e/x",
    "/files/tracks/{id}", "/files/tracks/{id}/missing.wav", "/files/tmp/x.part", "/files/tracks/abc/x",
    "/files/tracks/{id}/stems/../../{other}/original.wav",
])
async def test_paths_outside_the_callers_track_are_404(client, owned, config, make_account, path):
    account, track, _ = owned
    other = await make_account()
    body = FormData()
    body.add_field("file", audio_bytes("wav"), filename="x.wav")
    theirs = (await (await client.post("/api/tracks", data=body, headers=other.headers)).json())["data"]
    (config.data_dir / "tmp").mkdir(exist_ok=True)
    (config.data_dir / "tmp" / "x.part").write_bytes(b"x")
    response = await client.get(path.format(id=track["id"], other=theirs["id"]), headers=account.headers)
    assert response.status == 404


async def test_a_symlink_out_of_the_track_is_404(client, owned, config, tmp_path):
    account, track, _ = owned
    (tmp_path / "outside.txt").write_text("secret")
    (config.data_dir / f"tracks/{track['id']}/link.wav").symlink_to(tmp_path / "outside.txt")
    assert (await client.get(f"/files/tracks/{track['id']}/link.wav", headers=account.headers)).status == 404


async def test_another_users_exports_and_files_are_404(client, owned, make_account):
    _, track, stems = owned
    stranger = await make_account()
    for path in (f"/export/stem/{stems['vocals']}", f"/export/stems/{track['id']}",
                 f"/export/analysis/{track['id']}", track["file_url"]):
        response = await client.get(path, headers=stranger.headers)
        assert response.status == 404, path
        assert (await response.json())["code"] == "NOT_FOUND"


async def test_a_track_without_stems_or_analysis_is_404(client, make_account):
    account = await make_account()
    body = FormData()
    body.add_field("file", audio_bytes("wav"), filename="x.wav")
    track = (await (await client.post("/api/tracks", data=body, headers=account.headers)).json())["data"]
    for path in (f"/export/stems/{track['id']}", f"/export/analysis/{track['id']}"):
        assert (await client.get(path, headers=account.headers)).status == 404
