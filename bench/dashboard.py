"""Server time of the dashboard's first render for a user with 100 tracks, each with a running job.
Target: under 100 ms (the page's ``Server-Timing: render`` covers mount, the two queries and the render).

Run: .venv/bin/python -m bench.dashboard [TRACKS] [RUNS]. DATABASE_URL, if set, picks the PostgreSQL server;
else an embedded one is started. Prints the median and the slowest run, and the ratio to the target.
"""

from __future__ import annotations

import asyncio
import re
import statistics
import sys
import tempfile
from pathlib import Path

from aiohttp import CookieJar
from aiohttp.test_utils import TestClient, TestServer

from bench.database import fresh_database
from sfa.accounts import create_user
from sfa.config import Config
from sfa.db import Database
from sfa.web import make_app

TARGET_MS = 100.0


async def seed(database: Database, user_id: int, tracks: int) -> None:
    ids = await database.pool.fetch(
        "INSERT INTO tracks (user_id, title, artist, source, path, bpm, key) SELECT $1, 'Track ' || n, "
        "'Artist ' || n, 'upload', 'x.wav', 120, 'A minor' FROM generate_series(1, $2) n RETURNING id", user_id, tracks)
    await database.pool.execute(
        "INSERT INTO jobs (user_id, track_id, kind, queue, state, attempt, progress) "
        "SELECT $1, unnest($2::bigint[]), 'analysis', 'analysis', 'running', 1, 10", user_id, [r["id"] for r in ids])


async def render_times(url: str, tracks: int, runs: int) -> list[float]:
    database = await Database(url).connect()
    try:
        var = Path(tempfile.mkdtemp(prefix="sfa-bench-"))
        app = make_app(Config.from_env({"DATABASE_URL": url, "SFA_VAR_DIR": str(var), "SFA_DATA_DIR": str(var)}),
                       database)
        user = await create_user(database, "bench@example.com", "a long bench password")
        await seed(database, user.id, tracks)
        async with TestClient(TestServer(app), cookie_jar=CookieJar(unsafe=True)) as browser:
            page = await (await browser.get("/users/log_in")).text()
            csrf = re.search(r'name="csrf-token" content="([^"]+)"', page)[1]
            await browser.post("/users/log_in", data={"_csrf_token": csrf, "user[email]": user.email,
                                                      "user[password]": "a long bench password"})
            times = []
            for _ in range(runs + 1):
                response = await browser.get("/")
                assert response.status == 200 and (await response.text()).count('class="track"') == tracks
                times.append(float(re.search(r"render;dur=([\d.]+)", response.headers["Server-Timing"])[1]))
            return times[1:]  # the first warms the connection pool and the template
    finally:
        await database.close()


async def main(tracks: int, runs: int) -> None:
    async with fresh_database("bench_dashboard") as url:
        times = await render_times(url, tracks, runs)
    median = statistics.median(times)
    print(f"dashboard first render, {tracks} tracks with running jobs, {runs} runs")
    print(f"  median {median:6.1f} ms   slowest {max(times):6.1f} ms   target < {TARGET_MS:.0f} ms: "
          f"{'met' if median < TARGET_MS else 'MISSED'}")
    print(f"  ratio  {median / TARGET_MS:6.2f} of the target")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 100, int(sys.argv[2]) if len(sys.argv) > 2 else 20))
