"""The Python end of tests/phoenix/js/driver.mjs: commands in, the client's events out."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

DRIVER = Path(__file__).resolve().parent / "js" / "driver.mjs"
ROOT = Path(__file__).resolve().parents[2]
EVENT_TIMEOUT_S = 10


class JsClient:
    """One Node process running the phoenix ``Socket``; :meth:`expect` waits for an event it printed."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.events: list[dict[str, Any]] = []
        self._ids = 0

    @classmethod
    async def start(cls, node: str) -> JsClient:
        pipe = asyncio.subprocess.PIPE
        process = await asyncio.create_subprocess_exec(node, str(DRIVER), cwd=ROOT, stdin=pipe, stdout=pipe)
        client = cls(process)
        await client.expect("ready")
        return client

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()

    async def send(self, op: str, **fields: Any) -> None:
        self.process.stdin.write((json.dumps({"op": op, **fields}) + "\n").encode())
        await self.process.stdin.drain()

    async def connect(self, url: str, **options: Any) -> None:
        await self.send("connect", url=url, **options)

    async def join(self, topic: str, payload: dict | None = None) -> dict[str, Any]:
        """Join and wait for the first answer (``{"status", "response"}``)."""
        await self.send("join", topic=topic, payload=payload or {})
        return await self.expect("join", topic=topic)

    async def push(self, topic: str, event: str, payload: Any = None) -> dict[str, Any]:
        """Push and wait for the reply (``{"status", "response"}``)."""
        self._ids += 1
        ident = self._ids
        payload = {} if payload is None else payload
        await self.send("push", id=ident, topic=topic, event=event, payload=payload)
        return await self.expect("reply", id=ident)

    async def expect(self, match: Callable[[dict[str, Any]], bool] | str, timeout: float = EVENT_TIMEOUT_S,
                     **fields: Any) -> dict[str, Any]:
        """Take the first event not taken yet that matches: an ``ev`` name and fields, or a predicate."""
        wanted = match if callable(match) else (
            lambda event: event["ev"] == match and all(event.get(k) == v for k, v in fields.items()))
        async with asyncio.timeout(timeout):
            while True:
                for index, event in enumerate(self.events):
                    if wanted(event):
                        return self.events.pop(index)
                await self._read()

    async def collect(self, seconds: float) -> list[dict[str, Any]]:
        """Every event not taken yet, after listening ``seconds`` more."""
        try:
            async with asyncio.timeout(seconds):
                while True:
                    await self._read()
        except TimeoutError:
            pass
        return self.events

    async def _read(self) -> None:
        line = await self.process.stdout.readline()
        if not line:
            raise AssertionError(f"the JS client exited; events not taken: {self.events}")
        self.events.append(json.loads(line))
