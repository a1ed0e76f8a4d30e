"""Channel fan-out on one node: joined sockets held, server memory per socket, connect+join rate, and how
long one broadcast takes to reach every socket, measured at the clients; beside a bare aiohttp WebSocket
server that writes one pre-encoded frame to as many sockets (the floor). Targets: 20k sockets under
1.5 GB RSS; p99 fan-out to 10k within 2x the floor's.

Three kinds of process, so the server's numbers are its own: the SFA server (``make_app`` served as in
production, on a fresh database, every socket joined to ``user:<id>``, broadcasts by ``PubSub.publish``),
the bare server, and load clients (raw-socket WebSocket clients, :data:`CLIENTS` processes, each from its own
loopback source address, holding their share of the sockets of both servers). At each step both servers
are grown to the same number of sockets, then broadcasts alternate between them, so load on a shared host
falls on both alike. A broadcast carries its server's ``time.monotonic()`` (one clock for every process on
the host) and each client subtracts it from the frame's arrival.

Settings for the SFA server: ``SFA_MAX_CONNECTIONS_PER_IP`` lifted (every client is one address) and
``SFA_SOCKET_IDLE_TIMEOUT_S`` an hour, as the clients send no heartbeats (the floor has none either).
Each process raises its descriptor limit to the hard limit; a server holds at most that less 256 sockets
(:func:`sfa.web.serving.connection_capacity`), so a step past it is cut there and says so.

Run: .venv/bin/python -m bench.channels [STEPS ...]   (default 1000 5000 10000 20000); DATABASE_URL, if set,
picks the PostgreSQL server, else an embedded one is started.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import statistics
import sys
import time
from dataclasses import dataclass, field

import psutil

from bench.children import Child

DEFAULT_STEPS = (1000, 5000, 10000, 20000)
CLIENTS = 4
CONNECTS_IN_FLIGHT = 32
ROUNDS = 6
ROUND_TIMEOUT_S = 30
CONNECT_TIMEOUT_S = 30
TOPIC_EVENT = "bench"
RSS_TARGET_BYTES = 1.5e9
P99_TARGET_RATIO = 2.0


def raise_descriptor_limit() -> int:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


# ---- the servers: "ready" on stdout once listening; each stdin line "broadcast" fans one frame out -------

async def serve_sfa(port: int, user_id: int) -> None:
    from sfa.config import Config
    from sfa.db import Database
    from sfa.log import configure
    from sfa.pubsub import Broadcast
    from sfa.web import make_app, serve
    from sfa.web.keys import PUBSUB

    config = Config.from_env()
    configure(config.log_level)
    database = await Database(config.database_url).connect()
    app = make_app(config, database)
    runner = await serve(app, "127.0.0.1", port)
    topic = f"user:{user_id}"

    async def broadcast() -> None:
        await app[PUBSUB].publish(Broadcast(topic, TOPIC_EVENT, {"t": time.monotonic()}))

    await _serve_commands(broadcast)
    await runner.cleanup()
    await database.close()


async def serve_bare(port: int, user_id: int) -> None:
    from aiohttp import WSMsgType, web

    sockets: set[web.WebSocketResponse] = set()
    topic = f"user:{user_id}"

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        sockets.add(ws)
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    join_ref, ref = json.loads(message.data)[:2]
                    await ws.send_str(json.dumps([join_ref, ref, topic, "phx_reply",
                                                  {"status": "ok", "response": {}}], separators=(",", ":")))
        finally:
            sockets.discard(ws)
        return ws

    async def broadcast() -> None:
        frame = json.dumps([None, None, topic, TOPIC_EVENT, {"t": time.monotonic()}], separators=(",", ":"))
        for ws in list(sockets):
            await ws.send_str(frame)

    app = web.Application()
    app.router.add_get("/socket/websocket", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await _serve_commands(broadcast)
    await runner.cleanup()


async def _serve_commands(broadcast) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    print("ready", flush=True)
    while line := (await reader.readline()).decode().strip():
        if line == "broadcast":
            started = time.perf_counter()
            await broadcast()
            print(json.dumps({"sent_s": time.perf_counter() - started}), flush=True)


# ---- the load client: a minimal RFC 6455 client per socket, no library objects per connection -------------

class Connection(asyncio.Protocol):
    """Upgrades, joins, then keeps the arrival time and text of each frame; ``joined`` says how the join went."""

    def __init__(self, request: bytes, join: bytes, arrivals: list[tuple[float, bytes]]) -> None:
        self.request = request
        self.join = join
        self.arrivals = arrivals
        self.joined: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.buffer = bytearray()
        self.upgraded = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.joined.done():
            self.joined.set_result(False)

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        self.buffer += data
        if not self.upgraded:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            if b" 101 " not in self.buffer[:end]:
                self.joined.set_result(False)
                self.transport.close()
                return
            del self.buffer[:end + 4]
            self.upgraded = True
            self.transport.write(self.join)
        while len(self.buffer) >= 2:
            size, offset = self.buffer[1] & 0x7F, 2
            if size == 126:
                size, offset = int.from_bytes(self.buffer[2:4], "big"), 4
            elif size == 127:
                size, offset = int.from_bytes(self.buffer[2:10], "big"), 10
            if len(self.buffer) < offset + size:
                return
            payload = bytes(self.buffer[offset:offset + size])
            del self.buffer[:offset + size]
            if not self.joined.done():
                self.joined.set_result(b'"ok"' in payload)
            else:
                self.arrivals.append((now, payload))


def client_frame(text: str) -> bytes:
    """A masked text frame (a client must mask; the all-zero key leaves the payload as it is)."""
    data = text.encode()
    assert len(data) < 126
    return bytes([0x81, 0x80 | len(data)]) + b"\x00\x00\x00\x00" + data


async def run_client(source: str) -> None:
    """Commands on stdin, one JSON object a line; answers on stdout."""
    raise_descriptor_limit()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    arrivals: dict[str, list[tuple[float, bytes]]] = {}
    joined: dict[str, int] = {}
    held: list[Connection] = []
    while line := (await reader.readline()).decode().strip():
        command = json.loads(line)
        match command["op"]:
            case "connect":
                target = command["target"]
                request = (f"GET /socket/websocket?token={command['token']}&vsn=2.0.0 HTTP/1.1\r\n"
                           f"Host: 127.0.0.1:{command['port']}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           "Sec-WebSocket-Key: MDEyMzQ1Njc4OWFiY2RlZg==\r\nSec-WebSocket-Version: 13\r\n\r\n").encode()
                join = client_frame(json.dumps(["1", "1", command["topic"], "phx_join", {}], separators=(",", ":")))
                gate = asyncio.Semaphore(CONNECTS_IN_FLIGHT)
                outcomes = await asyncio.gather(*(
                    connect(gate, request, join, arrivals.setdefault(target, []), command["port"], source, held)
                    for _ in range(command["count"])))
                joined[target] = joined.get(target, 0) + sum(outcomes)
                _answer({"joined": sum(outcomes), "failed": outcomes.count(False)})
            case "wait":
                sink = arrivals.setdefault(command["target"], [])
                deadline = time.monotonic() + ROUND_TIMEOUT_S
                frames = command["rounds"] * joined.get(command["target"], 0)
                while len(sink) < frames and time.monotonic() < deadline:
                    await asyncio.sleep(0.01)
                _answer({"frames": len(sink)})
            case "collect":
                # Emptied in place: every connection of the target appends to this very list.
                sink = arrivals.setdefault(command["target"], [])
                latencies = [arrived - json.loads(payload)[4]["t"] for arrived, payload in sink]
                sink.clear()
                _answer({"latencies": latencies})
    for connection in held:
        connection.transport.abort()


async def connect(gate: asyncio.Semaphore, request: bytes, join: bytes, sink: list[tuple[float, bytes]], port: int,
                  source: str, held: list[Connection]) -> bool:
    async with gate:
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                _, connection = await asyncio.get_running_loop().create_connection(
                    lambda: Connection(request, join, sink), "127.0.0.1", port, local_addr=(source, 0))
                held.append(connection)
                return await connection.joined
        except (OSError, TimeoutError):
            return False


def _answer(value: dict) -> None:
    sys.stdout.write(json.dumps(value) + "\n")
    sys.stdout.flush()


# ---- the controller ---------------------------------------------------------------------------------------


@dataclass
class Side:
    name: str
    server: Child
    port: int
    baseline_rss: int = 0
    sockets: int = 0
    connect_rate: float = 0.0
    latencies: list[float] = field(default_factory=list)
    sent_s: list[float] = field(default_factory=list)

    def rss(self) -> int:
        return psutil.Process(self.server.process.pid).memory_info().rss


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def grow(side: Side, clients: list[Child], target: int, token: str, topic: str) -> None:
    """Connect and join until ``side`` holds ``target`` sockets, spread over the clients."""
    missing = target - side.sockets
    shares = [missing // len(clients) + (1 if i < missing % len(clients) else 0) for i in range(len(clients))]
    started = time.perf_counter()
    print(f"  {side.name}: connecting {missing} more", file=sys.stderr, flush=True)
    answers = await asyncio.gather(*(
        client.ask({"op": "connect", "target": side.name, "port": side.port, "token": token, "topic": topic,
                    "count": share}) for client, share in zip(clients, shares, strict=True)))
    elapsed = time.perf_counter() - started
    joined = sum(answer["joined"] for answer in answers)
    failed = sum(answer["failed"] for answer in answers)
    if failed:
        print(f"  {side.name}: {failed} of {missing} connections failed to join", flush=True)
    side.sockets += joined
    side.connect_rate = joined / elapsed


async def broadcast_round(side: Side, clients: list[Child], rounds: int) -> None:
    """One broadcast on ``side``; back once every client has had it on each of its sockets (or timed out)."""
    await side.server.send("broadcast")
    side.sent_s.append(json.loads(await side.server.line())["sent_s"])
    await asyncio.gather(*(client.ask({"op": "wait", "target": side.name, "rounds": rounds}) for client in clients))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def main(steps: list[int]) -> None:
    from bench.database import fresh_database
    from sfa.accounts import create_api_token, create_user
    from sfa.db import Database
    from sfa.web.serving import RESERVED_DESCRIPTORS

    hard = raise_descriptor_limit()
    ceiling = hard - RESERVED_DESCRIPTORS - 16
    async with fresh_database("bench_channels") as url:
        database = await Database(url).connect()
        user = await create_user(database, "bench-channels@example.com", "bench-password-1")
        _, token = await create_api_token(database, user.id, "bench")
        await database.close()
        topic = f"user:{user.id}"
        env = {**os.environ, "DATABASE_URL": url, "SFA_MAX_CONNECTIONS_PER_IP": "1000000",
               "SFA_SOCKET_IDLE_TIMEOUT_S": "3600", "SFA_VAR_DIR": os.environ.get("SFA_VAR_DIR", "/tmp/sfa-bench-var")}
        sides = []
        for name in ("bare", "sfa"):
            port = free_port()
            server = await Child.start("channels", f"serve-{name}", str(port), str(user.id), env=env)
            sides.append(Side(name, server, port))
        clients = [await Child.start("channels", "client", f"127.0.1.{index + 1}") for index in range(CLIENTS)]
        try:
            for side in sides:
                assert await side.server.line() == "ready"
                await asyncio.sleep(1)
                side.baseline_rss = side.rss()
            print(f"host: {os.cpu_count()} CPUs, shared with other work; descriptor limit {hard}; "
                  f"{CLIENTS} client processes; {ROUNDS} broadcasts per server per step, alternating", flush=True)
            rows = []
            for wanted in steps:
                target = min(wanted, ceiling)
                for side in sides:
                    await grow(side, clients, target, token, topic)
                    side.latencies, side.sent_s = [], []
                for rounds in range(1, ROUNDS + 1):
                    for side in sides:
                        await broadcast_round(side, clients, rounds)
                for side in sides:
                    answers = await asyncio.gather(*(client.ask({"op": "collect", "target": side.name})
                                                     for client in clients))
                    side.latencies = [value for answer in answers for value in answer["latencies"]]
                    rss = side.rss()
                    expected = side.sockets * ROUNDS
                    row = {"step": wanted, "side": side.name, "sockets": side.sockets,
                           "rss_mb": rss / 1e6, "kib_per_socket": (rss - side.baseline_rss) / side.sockets / 1024,
                           "joins_per_s": side.connect_rate, "delivered": f"{len(side.latencies)}/{expected}",
                           "p50_ms": statistics.median(side.latencies) * 1000,
                           "p99_ms": percentile(side.latencies, 0.99) * 1000,
                           "max_ms": max(side.latencies) * 1000,
                           "send_ms": statistics.median(side.sent_s) * 1000}
                    rows.append(row)
                    print(json.dumps(row), flush=True)
            report(rows)
        finally:
            for child in clients + [side.server for side in sides]:
                await child.stop()


def report(rows: list[dict]) -> None:
    print()
    print("| sockets | server | RSS MB | KiB/socket | joins/s | delivered | p50 ms | p99 ms | max ms | "
          "server send ms (median) |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(f"| {row['sockets']:,} | {row['side']} | {row['rss_mb']:.0f} | {row['kib_per_socket']:.1f} | "
              f"{row['joins_per_s']:,.0f} | {row['delivered']} | {row['p50_ms']:.0f} | {row['p99_ms']:.0f} | "
              f"{row['max_ms']:.0f} | {row['send_ms']:.0f} |")
    by = {(row["step"], row["side"]): row for row in rows}
    steps = sorted({row["step"] for row in rows})
    top = max(steps)
    sfa_top = by[(top, "sfa")]
    projected = sfa_top["rss_mb"] * 1e6 + (20000 - sfa_top["sockets"]) * sfa_top["kib_per_socket"] * 1024
    print(f"\nRSS at {sfa_top['sockets']:,} sockets: {sfa_top['rss_mb']:.0f} MB; at 20,000 (measured per socket): "
          f"{projected / 1e6:.0f} MB; target < {RSS_TARGET_BYTES / 1e6:.0f} MB -> "
          f"{'met' if projected < RSS_TARGET_BYTES else 'MISSED'}")
    if 10000 in steps:
        ratio = by[(10000, "sfa")]["p99_ms"] / by[(10000, "bare")]["p99_ms"]
        print(f"p99 fan-out to 10,000: {ratio:.2f}x the bare server's; target <= {P99_TARGET_RATIO:g}x -> "
              f"{'met' if ratio <= P99_TARGET_RATIO else 'MISSED'}")


if __name__ == "__main__":
    match sys.argv[1:]:
        case ["serve-sfa", port, user_id]:
            raise_descriptor_limit()
            asyncio.run(serve_sfa(int(port), int(user_id)))
        case ["serve-bare", port, user_id]:
            raise_descriptor_limit()
            asyncio.run(serve_bare(int(port), int(user_id)))
        case ["client", source]:
            asyncio.run(run_client(source))
        case steps:
            asyncio.run(main([int(step) for step in steps] or list(DEFAULT_STEPS)))
