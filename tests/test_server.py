"""Start-up and graceful shutdown of a whole server process, in-process and as `python3 run.py`."""

import asyncio
import os
import signal
import subprocess
import sys
import time

import aiohttp
import psutil
import pytest

from sfa.server import Server
from tests.conftest import free_port
from tests.processes import ROOT, launch, postgres_processes, read_until

pytestmark = pytest.mark.embedded_only

# Larger than the loopback socket buffers, so a slow reader keeps the server writing it.
BIG_FILE = 48 << 20


async def slow_download(server: Server, make_account) -> tuple[str, dict[str, str]]:
    """A track file the size of a long recording, and an owner's credentials: a download to read slowly."""
    account = await make_account()
    track_id = await server.database.pool.fetchval(
        "INSERT INTO tracks (user_id, title, source) VALUES ($1, 'long', 'upload') RETURNING id", account.user.id)
    path = server.config.data_dir / "tracks" / str(track_id) / "original.wav"
    path.parent.mkdir(parents=True)
    path.write_bytes(os.urandom(BIG_FILE))
    return f"http://127.0.0.1:{server.config.port}/files/tracks/{track_id}/original.wav", account.headers


async def read_slowly(response: aiohttp.ClientResponse, seconds: float, pieces: int = 20) -> int:
    received = 0
    while chunk := await response.content.read(BIG_FILE // pieces):
        received += len(chunk)
        await asyncio.sleep(seconds / pieces)
    return received


async def test_shutdown_lets_in_flight_requests_finish_and_refuses_new_ones(config, make_account):
    server = Server(config.replace(port=free_port(), shutdown_s=5))
    await server.start()
    url, headers = await slow_download(server, make_account)
    async with aiohttp.ClientSession() as session:
        response = await session.get(url, headers=headers)
        assert response.status == 200
        in_flight = asyncio.create_task(read_slowly(response, seconds=1.0))
        await asyncio.sleep(0.3)
        stopping = asyncio.create_task(server.stop())
        await asyncio.sleep(0.2)

        with pytest.raises(aiohttp.ClientConnectionError):
            await session.get(f"http://127.0.0.1:{server.config.port}/health", headers={"Connection": "close"})
        assert await in_flight == BIG_FILE
        await stopping


async def test_shutdown_cuts_requests_that_outlast_the_grace_period(config, make_account):
    server = Server(config.replace(port=free_port(), shutdown_s=0.5))
    await server.start()
    url, headers = await slow_download(server, make_account)
    async with aiohttp.ClientSession() as session:
        response = await session.get(url, headers=headers)
        in_flight = asyncio.create_task(read_slowly(response, seconds=30))
        await asyncio.sleep(0.3)
        started = time.monotonic()
        await server.stop()

        assert time.monotonic() - started < 5
        with pytest.raises(aiohttp.ClientError):
            await in_flight


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_run_py_serves_health_then_exits_cleanly_on_a_signal(tmp_path, signum):
    port = free_port()
    proc = launch(tmp_path, SFA_PORT=str(port))
    try:
        lines = read_until(proc, "serving: ")
        steps = [line.split(":", 1)[0] for line in lines if not line[:4].isdigit()]
        assert steps == ["venv", "install", "database", "migrations", "serving"]
        assert lines[-1] == f"serving: http://127.0.0.1:{port}"

        async def health() -> tuple[int, dict]:
            async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/health") as r:
                return r.status, await r.json()

        assert asyncio.run(health()) == (200, {"status": "ok"})
        server = psutil.Process(proc.pid)
        assert postgres_processes(tmp_path / "var" / "pg")
        assert not [region.path for region in server.memory_maps() if "libtorch" in region.path]

        proc.send_signal(signum)
        assert proc.wait(timeout=30) == 0
        assert "stopped: bye" in proc.stdout.read()
        assert not server.is_running()
        assert postgres_processes(tmp_path / "var" / "pg") == []
    finally:
        proc.kill()


def test_a_second_start_reuses_the_cluster_and_finds_migrations_up_to_date(tmp_path):
    for expected in ("migrations: applied 0001_accounts.sql", "migrations: up to date"):
        proc = launch(tmp_path, SFA_PORT=str(free_port()))
        try:
            lines = read_until(proc, "serving: ")
            assert next(line for line in lines if line.startswith("migrations:")).startswith(expected)
            assert "(started)" in next(line for line in lines if line.startswith("database:"))
            proc.terminate()
            assert proc.wait(timeout=30) == 0
        finally:
            proc.kill()


@pytest.mark.parametrize(("variable", "value", "accepts"), [
    ("SFA_PORT", "eighty", "an integer 1..65535"),
    ("SFA_SHUTDOWN_S", "-1", "a number of seconds >= 0"),
    ("DATABASE_URL", "mysql://localhost/x", "a postgresql://user@host/dbname URL"),
])
def test_a_bad_setting_exits_2_with_one_line_naming_it(tmp_path, variable, value, accepts):
    proc = launch(tmp_path, "serve", **{variable: value})
    output, _ = proc.communicate(timeout=60)

    assert proc.returncode == 2
    [line] = [line for line in output.splitlines() if not line.startswith(("venv:", "install:"))]
    assert line == f"config: {variable}={value!r} is invalid: expected {accepts}"
    assert not (tmp_path / "var" / "pg").exists()


def test_a_failing_migration_stops_start_up_with_its_name_and_error(tmp_path):
    """A copy of the package beside a broken sql/ directory: the real code, started for real."""
    (tmp_path / "app").mkdir()
    subprocess.run(["cp", "-r", str(ROOT / "sfa"), str(tmp_path / "app" / "sfa")], check=True)
    (tmp_path / "app" / "sql").mkdir()
    (tmp_path / "app" / "sql" / "0001_broken.sql").write_text("CREATE TABLE t (id int); SELEC 1;")
    environ = dict(os.environ, PYTHONPATH=str(tmp_path / "app"), SFA_VAR_DIR=str(tmp_path / "var"),
                   SFA_PORT=str(free_port()))
    environ.pop("DATABASE_URL", None)

    result = subprocess.run([sys.executable, "-m", "sfa", "serve"], cwd=tmp_path / "app", env=environ,
                            capture_output=True, text=True, timeout=60)

    assert result.returncode == 1
    assert 'error: migration 0001_broken.sql failed: PostgresSyntaxError: syntax error at or near "SELEC"' \
        in result.stderr
    assert "serving:" not in result.stdout
    assert postgres_processes(tmp_path / "var" / "pg") == []
