"""A bench's subprocess (a server or a load client run as ``python -m bench.<module> ROLE ...``), spoken to in
lines of JSON on its stdin and stdout; its log goes to ``/tmp/sfa-bench-<module>-<role>.log``."""

from __future__ import annotations

import asyncio
import json
import sys


class Child:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(cls, module: str, *args: str, env: dict[str, str] | None = None) -> Child:
        with open(f"/tmp/sfa-bench-{module}-{args[0]}.log", "ab") as log:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", f"bench.{module}", *args, stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE, stderr=log, env=env, limit=64 * 1024 * 1024)
        return cls(process)

    async def send(self, line: str) -> None:
        self.process.stdin.write((line + "\n").encode())
        await self.process.stdin.drain()

    async def line(self) -> str:
        line = await self.process.stdout.readline()
        if not line:
            raise SystemExit(f"bench child {self.process.pid} exited ({await self.process.wait()})")
        return line.decode().strip()

    async def ask(self, command: dict) -> dict:
        await self.send(json.dumps(command))
        return json.loads(await self.line())

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.stdin.close()
            try:
                await asyncio.wait_for(self.process.wait(), 20)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
