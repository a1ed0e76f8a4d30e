"""REST speed: authenticated ``GET /api/tracks`` (a page of 20 rows) in requests per second and p99, beside a
bare aiohttp handler returning the same JSON, with the same client on the same machine. Target: at least
40% of the bare handler's requests per second.

Four processes: the SFA server (``make_app`` served as in production: guarded connections, the filtered access
log at the default level, every middleware; ``SFA_RATE_API`` lifted so the limiter counts, far from the limit
by leases, but never refuses), a second one with the listing cache off, the bare server (one handler returning
the body SFA answered, read once before the run), and the load client (:data:`CONNECTIONS` keep-alive
connections, each sending its next request when the previous answer is in, written on raw sockets so the
client spends little of the CPUs the servers need). The two servers take turns, :data:`ROUNDS` times
:data:`ROUND_S` seconds each, so load from elsewhere on a shared host falls on both alike. Also measured on
SFA, for where the time goes: the page with the listing cache off (``SFA_LISTING_CACHE_S=0``: a query each
time, as when the user's tracks change between reads), and on the first server an authenticated 404 and
``/health``.
Beside the rates: the server's CPU time per request, and that of the PostgreSQL backends serving SFA's
database (their share of the same CPUs), which do not depend on how a shared host divided its CPUs.

Run: .venv/bin/python -m bench.http; DATABASE_URL, if set, picks the PostgreSQL server, else an embedded one
is started.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import time

import psutil

from bench.children import Child

CONNECTIONS = 32
ROUNDS = 3
ROUND_S = 4.0
TARGET_RATIO = 0.40
TRACKS = 25
WARM_UP_S = 0.5


# ---- the servers: "ready" on stdout once listening; they run until stdin closes ----------------------------

async def serve_sfa(port: int) -> None:
    from sfa.config import Config
    from sfa.db import Database
    from sfa.log import configure
    from sfa.web import make_app, serve

    config = Config.from_env()
    configure(config.log_level)
    database = await Database(config.database_url, max_size=config.db_pool_max).connect()
    runner = await serve(make_app(config, database), "127.0.0.1", port)
    await _until_stdin_closes()
    await runner.cleanup()
    await database.close()


async def serve_bare(port: int, body_file: str) -> None:
    from aiohttp import web

    with open(body_file, "rb") as file:
        body = file.read()

    async def tracks(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_get("/api/tracks", tracks)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await _until_stdin_closes()
    await runner.cleanup()


async def _until_stdin_closes() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    print("ready", flush=True)
    await reader.read()


# ---- the load client ------------------------------------------------------------------------------------------

class KeepAlive(asyncio.Protocol):
    """One connection sending the same request again as soon as each response is complete."""

    def __init__(self, request: bytes, latencies: list[float], statuses: dict[int, int]) -> None:
        self.request = request
        self.latencies = latencies
        self.statuses = statuses
        self.buffer = bytearray()
        self.sent_at = 0.0
        self.running = True
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self._send()

    def _send(self) -> None:
        self.sent_at = time.perf_counter()
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).split(b"\r\n")
            length = next(int(value) for name, _, value in (line.partition(b":") for line in head[1:])
                          if name.strip().lower() == b"content-length")
            if len(self.buffer) < end + 4 + length:
                return
            status = int(head[0][9:12])
            del self.buffer[:end + 4 + length]
            self.latencies.append(time.perf_counter() - self.sent_at)
            self.statuses[status] = self.statuses.get(status, 0) + 1
            if self.running:
                self._send()


async def load(port: int, path: str, token: str | None, seconds: float) -> dict:
    """``CONNECTIONS`` keep-alive clients on ``path`` for ``seconds``: requests/s, p50, p99, statuses."""
    loop = asyncio.get_running_loop()
    headers = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
    if token is not None:
        headers += f"Authorization: Bearer {token}\r\n"
    request = (headers + "\r\n").encode()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    connections = [(await loop.create_connection(lambda: KeepAlive(request, latencies, statuses),
                                                 "127.0.0.1", port))[1] for _ in range(CONNECTIONS)]
    await asyncio.sleep(WARM_UP_S)  # not counted
    latencies.clear()
    statuses.clear()
    started = time.perf_counter()
    await asyncio.sleep(seconds)
    elapsed = time.perf_counter() - started
    done = list(latencies)
    for connection in connections:
        connection.running = False
        connection.transport.close()
    ordered = sorted(done)
    return {"rps": len(done) / elapsed, "p50_ms": statistics.median(ordered) * 1000,
            "p99_ms": ordered[int(0.99 * (len(ordered) - 1))] * 1000, "statuses": statuses}


async def run_client() -> None:
    """One JSON command a line on stdin (``port``, ``path``, ``token``, ``seconds``), one result a line out."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := (await reader.readline()).decode().strip():
        command = json.loads(line)
        result = await load(command["port"], command["path"], command.get("token"), command["seconds"])
        print(json.dumps(result), flush=True)


# ---- the controller -------------------------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def main() -> None:
    import tempfile
    import urllib.request

    from bench.database import fresh_database
    from sfa.accounts import create_api_token, create_user
    from sfa.db import Database
    from sfa.db.database import database_name
    from sfa.tracks.store import create_track

    async with fresh_database("bench_http") as url:
        database = await Database(url).connect()
        user = await create_user(database, "bench-http@example.com", "bench-password-1")
        _, token = await create_api_token(database, user.id, "bench")
        async with database.pool.acquire() as conn:
            for index in range(TRACKS):
                await create_track(conn, user.id, title=f"Track {index}", artist="Bench Artist", source="url",
                                   source_url=f"https://example.com/{index}.mp3")
        await database.close()
        env = {**os.environ, "DATABASE_URL": url, "SFA_RATE_API": "1000000000/60",
               "SFA_VAR_DIR": os.environ.get("SFA_VAR_DIR", "/tmp/sfa-bench-var")}
        sfa_port, bare_port, uncached_port = free_port(), free_port(), free_port()
        sfa = await Child.start("http", "serve-sfa", str(sfa_port), env=env)
        assert await sfa.line() == "ready"
        uncached = await Child.start("http", "serve-sfa", str(uncached_port), env=env | {"SFA_LISTING_CACHE_S": "0"})
        assert await uncached.line() == "ready"
        request = urllib.request.Request(f"http://127.0.0.1:{sfa_port}/api/tracks",
                                         headers={"Authorization": f"Bearer {token}"})
        body = await asyncio.to_thread(lambda: urllib.request.urlopen(request).read())
        assert len(json.loads(body)["data"]) == 20
        with tempfile.NamedTemporaryFile(suffix=".json") as body_file:
            body_file.write(body)
            body_file.flush()
            bare = await Child.start("http", "serve-bare", str(bare_port), body_file.name)
            assert await bare.line() == "ready"
        client = await Child.start("http", "client")
        try:
            print(f"host: {os.cpu_count()} CPUs, shared with other work; {CONNECTIONS} keep-alive connections; "
                  f"{ROUNDS} rounds of {ROUND_S:g} s per side, alternating", flush=True)
            runs: dict[str, list[dict]] = {"bare": [], "sfa": []}
            servers = {"bare": (bare_port, bare, ""), "sfa": (sfa_port, sfa, database_name(url))}
            for _ in range(ROUNDS):
                for name, (port, server, database_named) in servers.items():
                    result = await measured(client, server, {"port": port, "path": "/api/tracks", "token": token,
                                                             "seconds": ROUND_S}, database_named)
                    assert set(result["statuses"]) == {"200"}, result["statuses"]
                    runs[name].append(result)
                    print(f"  {name:5} {result['rps']:8,.0f} req/s  p50 {result['p50_ms']:6.2f} ms  "
                          f"p99 {result['p99_ms']:6.2f} ms  server CPU {result['cpu_us']:5.0f} us/request  "
                          f"PostgreSQL CPU {result['pg_us']:4.0f} us/request", flush=True)
            extra = {}
            for label, server, port, path, with_token in (
                    ("GET /api/tracks, no listing cache (a query each)", uncached, uncached_port, "/api/tracks", True),
                    ("authenticated 404", sfa, sfa_port, "/api/nothing-here", True),
                    ("/health", sfa, sfa_port, "/health", False)):
                extra[label] = await measured(client, server, {"port": port, "path": path,
                                                               "token": token if with_token else None,
                                                               "seconds": ROUND_S}, database_name(url))
            report(runs, extra)
        finally:
            for child in (client, bare, sfa, uncached):
                await child.stop()


async def measured(client: Child, server: Child, command: dict, database: str = "") -> dict:
    """The client's result for ``command``, with the server's CPU time per request (user and system): on a
    shared host, what a request costs the server, however the CPUs were shared meanwhile. With ``database``,
    also the CPU time of the PostgreSQL backends serving it (``pg_us``), where the server is on this host."""
    processes = [psutil.Process(server.process.pid)]
    if database:
        processes += [process for process in psutil.process_iter(["cmdline"])
                      if f" {database} " in " ".join(process.info["cmdline"] or ())]
    before = [_cpu(process) for process in processes]
    result = await client.ask(command)
    after = [_cpu(process) for process in processes]
    # The client's warm-up half second is in the CPU time but not in the count: counted at the same rate.
    requests = result["rps"] * (command["seconds"] + WARM_UP_S)
    result["cpu_us"] = (after[0] - before[0]) / requests * 1e6
    # A backend that ended meanwhile (the pool closed it) counts for neither reading.
    result["pg_us"] = sum(a - b for a, b in zip(after[1:], before[1:], strict=True)
                          if a is not None and b is not None) / requests * 1e6
    return result


def _cpu(process: psutil.Process) -> float | None:
    try:
        times = process.cpu_times()
    except psutil.NoSuchProcess:
        return None
    return times.user + times.system


def report(runs: dict[str, list[dict]], extra: dict[str, dict]) -> None:
    def median(name: str, key: str) -> float:
        return statistics.median(run[key] for run in runs[name])

    print()
    print("| endpoint | server | req/s (median of rounds) | p50 ms | p99 ms | server CPU us/request | "
          "PostgreSQL CPU us/request |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for name in ("bare", "sfa"):
        print(f"| GET /api/tracks (20 rows) | {name} | {median(name, 'rps'):,.0f} | {median(name, 'p50_ms'):.2f} | "
              f"{median(name, 'p99_ms'):.2f} | {median(name, 'cpu_us'):.0f} | {median(name, 'pg_us'):.0f} |")
    for label, result in extra.items():
        print(f"| {label} | sfa | {result['rps']:,.0f} | {result['p50_ms']:.2f} | {result['p99_ms']:.2f} | "
              f"{result['cpu_us']:.0f} | {result['pg_us']:.0f} |")
    ratio = median("sfa", "rps") / median("bare", "rps")
    print(f"\nGET /api/tracks: {ratio:.1%} of the bare handler's req/s; target >= {TARGET_RATIO:.0%} -> "
          f"{'met' if ratio >= TARGET_RATIO else 'MISSED'}")
    # The bare server's rate is bounded by the client's share of the CPUs as much as by its own work, so on a
    # shared host the ratio above swings with the load; what each request costs the server does not.
    print(f"server CPU per request: SFA {median('sfa', 'cpu_us') / median('bare', 'cpu_us'):.1f}x the bare handler's")


if __name__ == "__main__":
    match sys.argv[1:]:
        case ["serve-sfa", port]:
            asyncio.run(serve_sfa(int(port)))
        case ["serve-bare", port, body_file]:
            asyncio.run(serve_bare(int(port), body_file))
        case ["client"]:
            asyncio.run(run_client())
        case []:
            asyncio.run(main())
