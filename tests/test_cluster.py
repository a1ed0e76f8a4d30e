"""Several real server processes (`python3 run.py serve|worker`) on one database and one shared data dir:
limits counted once, long-poll on any node, a worker-only node's jobs seen from a web node, failover.

The nodes run one worker per pool and only the download queue (or none they need not), so each starts in a
few seconds; they run on the embedded PostgreSQL only, as what is tested here is between the nodes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from sfa.db import Database
from sfa.pubsub import Broadcast, notify
from tests.conftest import free_port
from tests.processes import ROOT, run_py_environment
from tests.tracks.audio import audio_bytes


@pytest.fixture(autouse=True)
def embedded_only(server_url: str, embedded_server) -> None:
    if server_url != embedded_server.url():
        pytest.skip("what passes between the nodes is the same on either PostgreSQL: the embedded one suffices")

SECRET_KEY = "a-cluster-wide-secret-key-of-at-least-32-characters"
LEASE_S = 3.0
SONG = audio_bytes("wav", 2.0)
START_TIMEOUT_S = 120


@dataclass
class Node:
    """One `python3 run.py` process; its output goes to a file (a pipe nobody reads would fill and stall it)."""

    name: str
    proc: subprocess.Popen
    log: Path
    port: int

    @classmethod
    def launch(cls, folder: Path, *args: str, **env: str) -> Node:
        folder.mkdir(parents=True)
        port = free_port()
        log = folder / "output.log"
        with log.open("w") as output:
            proc = subprocess.Popen([sys.executable, str(ROOT / "run.py"), *args], cwd=folder,
                                    env=run_py_environment(folder / "var", SFA_PORT=str(port), **env),
                                    stdout=output, stderr=subprocess.STDOUT, text=True)
        return cls(folder.name, proc, log, port)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text()

    async def started(self, line: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not any(printed.startswith(line) for printed in self.output().splitlines()):
            assert self.proc.poll() is None, f"node {self.name} exited:\n{self.output()}"
            assert time.monotonic() < deadline, f"node {self.name} did not print {line!r}:\n{self.output()}"
            await asyncio.sleep(0.2)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def node_environment(database_url: str, data_dir: Path) -> dict[str, str]:
    return {"DATABASE_URL": database_url, "SFA_DATA_DIR": str(data_dir), "SFA_SECRET_KEY": SECRET_KEY,
            "SFA_WORKERS_DOWNLOAD": "1", "SFA_WORKERS_PROCESSING": "1", "SFA_WORKERS_ANALYSIS": "1",
            "SFA_LOG_LEVEL": "warning", "SFA_QUEUE_LEASE_S": str(LEASE_S), "SFA_QUEUE_BACKOFF_S": "0.2",
            "SFA_QUEUE_POLL_S": "0.2", "SFA_LONGPOLL_WINDOW_S": "1", "SFA_DOWNLOADER": "http",
            "SFA_ADMIN_PASSWORD": "cluster-admin-password"}


@contextlib.asynccontextmanager
async def nodes(tmp_path: Path, database_url: str, *commands: list[str]) -> AsyncIterator[list[Node]]:
    """Start a node per command line, all at once, on the database and ``tmp_path/data``; stop them after."""
    env = node_environment(database_url, tmp_path / "data")
    started = [Node.launch(tmp_path / f"node{i}", *command, **env) for i, command in enumerate(commands)]
    try:
        await asyncio.gather(*(node.started("worker:" if command[0] == "worker" else "serving:")
                               for node, command in zip(started, commands, strict=True)))
        yield started
    finally:
        for node in started:
            node.stop()


@dataclass
class ChannelClient:
    """A Phoenix V2 WebSocket client that keeps every frame it receives."""

    ws: aiohttp.ClientWebSocketResponse
    frames: list[list] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def read(self) -> None:
        async for message in self.ws:
            self.frames.append(json.loads(message.data))
            self.arrived.set()

    async def join(self, topic: str) -> None:
        await self.ws.send_str(json.dumps(["1", "1", topic, "phx_join", {}]))
        reply = await self.next(lambda f: f[3] == "phx_reply" and f[2] == topic)
        assert reply[4]["status"] == "ok", reply

    def events(self, topic: str, event: str) -> list[dict]:
        return [frame[4] for frame in self.frames if frame[2] == topic and frame[3] == event]

    async def next(self, wanted, timeout: float = 30) -> list:
        deadline = time.monotonic() + timeout
        while True:
            if found := [frame for frame in self.frames if wanted(frame)]:
                return found[0]
            self.arrived.clear()
            await asyncio.wait_for(self.arrived.wait(), deadline - time.monotonic())


@contextlib.asynccontextmanager
async def channel_client(node: Node, token: str) -> AsyncIterator[ChannelClient]:
    async with aiohttp.ClientSession() as http, http.ws_connect(
            f"{node.base}/socket/websocket", params={"vsn": "2.0.0", "token": token}) as ws:
        client = ChannelClient(ws)
        reading = asyncio.create_task(client.read())
        try:
            yield client
        finally:
            reading.cancel()


@pytest.fixture
async def audio_server() -> AsyncIterator[TestServer]:
    """Serves SONG at /song.wav; at /stall.wav the first request gets half of it and then nothing more."""
    first_request_stalled = asyncio.Event()

    async def song(request: web.Request) -> web.Response:
        return web.Response(body=SONG, content_type="audio/wav")

    async def stall(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "audio/wav", "Content-Length": str(len(SONG))})
        await response.prepare(request)
        if first_request_stalled.is_set():
            await response.write(SONG)
            return response
        await response.write(SONG[:len(SONG) // 2])
        first_request_stalled.set()
        await asyncio.sleep(3600)
        return response

    app = web.Application()
    app.router.add_get("/song.wav", song)
    app.router.add_get("/stall.wav", stall)
    async with TestServer(app, host="127.0.0.1") as server:
        server.first_request_stalled = first_request_stalled
        yield server


async def download(node: Node, token: str, url: str) -> dict:
    async with aiohttp.ClientSession() as http, http.post(
            f"{node.base}/api/download/track", json={"url": url, "quality": "lossless"},
            headers={"Authorization": f"Bearer {token}"}) as response:
        assert response.status == 201, await response.text()
        return (await response.json())["data"]


async def longpoll(node: Node, method: str, token: str, body: str | None = None) -> dict:
    async with aiohttp.ClientSession() as http, http.request(
            method, f"{node.base}/socket/longpoll", params={"token": token}, data=body,
            headers={"content-type": "application/x-ndjson"} if body else {}) as response:
        return await response.json()


async def test_limits_count_once_and_a_long_poll_client_may_reach_either_node(
        tmp_path, database_url, database: Database, make_account):
    account = await make_account()
    async with nodes(tmp_path, database_url, ["serve", "--queues", "download"],
                     ["serve", "--queues", "download"]) as (a, b):
        remaining = []
        async with aiohttp.ClientSession(headers=account.headers) as http:
            for n in range(60):
                async with http.get(f"{(a, b)[n % 2].base}/api/tracks") as response:
                    assert response.status == 200
                    remaining.append(int(response.headers["X-RateLimit-Remaining"]))
            for node in (a, b):
                async with http.get(f"{node.base}/api/tracks") as response:
                    body = await response.json()
                    assert response.status == 429
                    assert body == {"error": "rate limit exceeded", "code": "RATE_LIMITED",
                                    "retry_after": int(response.headers["Retry-After"])}
                    assert response.headers["X-RateLimit-Limit"] == "60"
        assert remaining == list(range(59, -1, -1))

        async with aiohttp.ClientSession() as http, http.get(
                f"{a.base}/socket/longpoll", params={"vsn": "2.0.0"},
                headers={"X-Phoenix-AuthToken": account.token}) as response:
            token = (await response.json())["token"]
        topic = f"user:{account.user.id}"
        assert await longpoll(b, "POST", token, f'["1","1","{topic}","phx_join",{{}}]') == {"status": 200}

        async def publish() -> None:
            for n in range(20):
                async with database.pool.acquire() as conn:
                    await notify(conn, Broadcast(topic, "user:notice", {"n": n}))
                await asyncio.sleep(0.02)

        publishing = asyncio.create_task(publish())
        received, polls = [], 0
        while len(received) < 21:
            polled = await longpoll((a, b)[polls % 2], "GET", token)
            assert polled["status"] in (200, 204) and polled["token"] == token
            received += polled["messages"]
            polls += 1
        await publishing

        assert received == [f'["1","1","{topic}","phx_reply",{{"status":"ok","response":{{}}}}]'] + \
            [f'[null,null,"{topic}","user:notice",{{"n":{n}}}]' for n in range(20)]
        assert polls >= 2
        assert (await longpoll(b, "GET", token))["messages"] == []


async def test_a_worker_node_runs_jobs_that_web_nodes_show_and_refuses_an_unshared_data_dir(
        tmp_path, database_url, make_account, audio_server):
    account = await make_account()
    async with nodes(tmp_path, database_url, ["serve", "--queues", "analysis"],
                     ["worker", "--queues", "download"]) as (web_node, worker):
        assert "worker: node" in worker.output() and "runs jobs from download (1); no HTTP endpoint" in \
            worker.output()
        async with channel_client(web_node, account.token) as client:
            started = await download(web_node, account.token, f"http://127.0.0.1:{audio_server.port}/song.wav")
            topic = f"jobs:{started['job_id']}"
            await client.join(topic)
            completed = await client.next(lambda f: f[2] == topic and f[3] == "job:completed")
        assert completed[4]["result"]["output_path"] == f"tracks/{started['track_id']}/original.wav"
        async with aiohttp.ClientSession(headers=account.headers) as http, \
                http.get(f"{web_node.base}/files/tracks/{started['track_id']}/original.wav") as response:
            assert response.status == 200 and await response.read() == SONG

        env = node_environment(database_url, tmp_path / "elsewhere")
        refused = Node.launch(tmp_path / "unshared", "worker", "--queues", "analysis", **env)
        assert refused.proc.wait(timeout=START_TIMEOUT_S) == 1
        assert f"error: SFA_DATA_DIR {tmp_path / 'elsewhere'} is not the data directory of the running" in \
            refused.output()


async def test_a_job_whose_node_is_killed_finishes_once_on_the_other(
        tmp_path, database_url, database: Database, make_account, audio_server):
    account = await make_account()
    async with nodes(tmp_path, database_url, ["serve", "--queues", "download"],
                     ["serve", "--queues", "download"]) as pair, \
            channel_client(pair[0], account.token) as first, channel_client(pair[1], account.token) as second:
        started = await download(pair[0], account.token, f"http://127.0.0.1:{audio_server.port}/stall.wav")
        job_id, track_id = started["job_id"], started["track_id"]
        topic = f"jobs:{job_id}"
        await first.join(topic)
        await second.join(topic)
        await asyncio.wait_for(audio_server.first_request_stalled.wait(), 30)
        running_on = await database.pool.fetchval("SELECT node FROM jobs WHERE id = $1", job_id)
        victim = next(node for node in pair if f"/{node.proc.pid}/" in running_on)
        survivor, client = (pair[1], second) if victim is pair[0] else (pair[0], first)

        victim.proc.kill()
        killed = time.monotonic()
        await client.next(lambda f: f[2] == topic and f[3] == "job:completed", timeout=LEASE_S + 20)
        took = time.monotonic() - killed
        await asyncio.sleep(LEASE_S)  # long enough for a second completion to show, were there one

    job = await database.pool.fetchrow("SELECT state, attempt, errors, node FROM jobs WHERE id = $1", job_id)
    assert (job["state"], job["attempt"], job["node"]) == ("completed", 2, None)
    assert f"its node {running_on} stopped" in json.loads(job["errors"])[0]["error"]
    assert took < 2 * LEASE_S + 5
    assert len(client.events(topic, "job:completed")) == 1
    assert await database.pool.fetchval("SELECT count(*) FROM jobs WHERE track_id = $1", track_id) == 1
    assert await database.pool.fetchval("SELECT path FROM tracks WHERE id = $1", track_id) == \
        f"tracks/{track_id}/original.wav"
    data = tmp_path / "data"
    assert (data / f"tracks/{track_id}/original.wav").read_bytes() == SONG
    assert list((data / "tmp").iterdir()) == []
    assert survivor.proc.returncode == 0 and victim.proc.returncode == -9
