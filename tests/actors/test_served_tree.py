"""The tree inside a real `python3 run.py` server: `run.py status`, a worker killed by a signal, and every
way the server can end (SIGTERM, kill -9) leaving no Thespian process behind."""

import asyncio
import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import aiohttp
import psutil

from sfa.actors.system import processes_in
from sfa.supervisors.control import SOCKET_NAME, ask
from tests import processes
from tests.conftest import free_port
from tests.processes import postgres_processes

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_ACTOR_PROCESSES = 3 + 3 + 2 + 2 + 1  # admin, logger, nursery; download, processing, analysis; one gpu


def launch(tmp_path: Path, port: int, **env: str) -> subprocess.Popen:
    proc = processes.launch(tmp_path, SFA_PORT=str(port), **env)
    for line in proc.stdout:
        if line.startswith("serving: "):
            return proc
    raise AssertionError(f"the server exited before serving (code {proc.wait()})")


def status(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return processes.run_command(tmp_path, "status", *args)


def status_json(tmp_path: Path) -> dict:
    out = status(tmp_path, "--json").stdout
    return json.loads(out[out.index("{"):])


def control_status(tmp_path: Path) -> dict:
    """The same answer `run.py status --json` prints, asked over the control socket from this process."""
    return asyncio.run(ask(tmp_path / "var" / SOCKET_NAME, "status"))


def worker(tree: dict, name: str) -> dict:
    [pool] = [pool for pool in tree["children"] if any(w["name"] == name for w in pool.get("children", []))]
    [found] = [w for w in pool["children"] if w["name"] == name]
    return found


def wait_for(predicate, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)
    return value


def health(port: int) -> int:
    async def get() -> int:
        async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/health") as response:
            return response.status

    return asyncio.run(get())


def test_status_a_sigtermed_worker_and_a_sigtermed_server_leave_no_actor_process(tmp_path):
    port = free_port()
    proc = launch(tmp_path, port)
    try:
        snapshot = status_json(tmp_path)
        text = status(tmp_path)
        sid = snapshot["actor_sid"]
        actor_pids = {process.pid for process in processes_in(sid)}
        victim = worker(snapshot["tree"], "download-2")["pid"]

        os.kill(victim, signal.SIGTERM)
        replaced = wait_for(lambda: (w := worker(control_status(tmp_path)["tree"], "download-2"))["pid"] not in
                            (None, victim) and w)
        still_serving = proc.poll() is None and health(port) == 200

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        left = [process.pid for process in processes_in(sid)]
    finally:
        proc.kill()

    assert text.returncode == 0
    assert len(actor_pids) == snapshot["actor_processes"] == DEFAULT_ACTOR_PROCESSES
    lines = text.stdout.splitlines()
    assert any(line.startswith("root  supervisor  one_for_one (max 3 in 5s)  running  pid ") for line in lines)
    for name in ("download-1", "download-2", "download-3", "processing-1", "processing-2", "analysis-1",
                 "analysis-2", "gpu-1"):
        assert any(f"─ {name}  " in line and "  idle  pid " in line for line in lines), name
    assert (replaced["restarts"], replaced["state"]) == (1, "idle")
    assert still_serving
    assert left == []


def test_status_without_a_running_server_says_so(tmp_path):
    result = status(tmp_path)

    assert result.returncode == 1
    assert f"error: no server is running with this SFA_VAR_DIR (nothing answers on {tmp_path / 'var'}" in result.stderr


def test_a_killed_server_takes_its_actor_processes_with_it(tmp_path, database_url):
    proc = launch(tmp_path, free_port(), DATABASE_URL=database_url)
    try:
        sid = control_status(tmp_path)["actor_sid"]
        assert len(processes_in(sid)) == DEFAULT_ACTOR_PROCESSES
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        wait_for(lambda: processes_in(sid) == [], timeout=5)
    finally:
        proc.kill()


def listeners(processes: list[psutil.Process]) -> set[tuple[str, int]]:
    """Every TCP socket listening and every UDP socket bound, across ``processes``."""
    found = set()
    for process in processes:
        for conn in process.net_connections(kind="inet"):
            if conn.status == psutil.CONN_LISTEN or (conn.type == socket.SOCK_DGRAM and conn.laddr):
                found.add((conn.laddr.ip, conn.laddr.port))
    return found


def test_a_served_tree_listens_on_nothing_but_its_http_port(tmp_path):
    port = free_port()
    proc = launch(tmp_path, port)
    try:
        sid = control_status(tmp_path)["actor_sid"]
        server = psutil.Process(proc.pid)
        processes = [server, *server.children(recursive=True), *processes_in(sid),
                     *postgres_processes(tmp_path / "var" / "pg")]
        found = listeners(processes)
        actor_processes = len(processes_in(sid))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)

    assert actor_processes == DEFAULT_ACTOR_PROCESSES
    assert found == {("127.0.0.1", port)}
