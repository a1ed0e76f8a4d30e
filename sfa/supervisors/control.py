"""The control channel: a Unix socket, ``SFA_VAR_DIR/control.sock``, where the running server answers
operators on the same host (``python3 run.py status``).

Only the server's own user can connect (mode 0600), so it needs no token: file permissions are the
authentication, as for PostgreSQL's local socket. One request per connection: the client sends a command
name and a newline; the server answers one JSON line, ``{"data": ...}`` or ``{"error": ...}``, and closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SOCKET_NAME = "control.sock"
REQUEST_TIMEOUT_S = 5.0
SUN_PATH_MAX = 100


class ControlError(RuntimeError):
    """No server answers on the control socket, or it refused the command."""


@contextlib.contextmanager
def reachable(path: Path) -> Iterator[str]:
    """A name for ``path`` short enough for a Unix socket address: a long one (deep var dirs, pytest's temp
    dirs) is reached through ``/proc/self/fd/N`` of its directory."""
    if len(str(path)) < SUN_PATH_MAX:
        yield str(path)
        return
    directory = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        yield f"/proc/self/fd/{directory}/{path.name}"
    finally:
        os.close(directory)


class ControlChannel:
    def __init__(self, path: Path, commands: Mapping[str, Callable[[], Any]]) -> None:
        self.path = path
        self.commands = commands
        self._server: asyncio.Server | None = None

    async def start(self) -> ControlChannel:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.is_socket():
            log.warning("replacing the control socket %s left by an earlier server", self.path)
            self.path.unlink()
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        with reachable(self.path) as address:
            listener.bind(address)
        os.chmod(self.path, 0o600)
        self._server = await asyncio.start_unix_server(self._answer, sock=listener)
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self.path.unlink(missing_ok=True)

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            name = (await asyncio.wait_for(reader.readline(), REQUEST_TIMEOUT_S)).decode(errors="replace").strip()
            command = self.commands.get(name)
            reply = ({"data": command()} if command is not None else
                     {"error": f"unknown command {name!r}; this server answers {', '.join(sorted(self.commands))}"})
            writer.write(json.dumps(reply, default=str).encode() + b"\n")
            await writer.drain()
        except (TimeoutError, ConnectionError) as exc:
            log.info("control channel client went away: %r", exc)
        finally:
            writer.close()


async def ask(path: Path, command: str) -> Any:
    """Send ``command`` to the server whose control socket is ``path`` and return its answer's data."""
    try:
        with reachable(path) as address:
            reader, writer = await asyncio.open_unix_connection(address)
    except (FileNotFoundError, ConnectionRefusedError, NotADirectoryError):
        raise ControlError(f"no server is running with this SFA_VAR_DIR (nothing answers on {path})") from None
    try:
        writer.write(command.encode() + b"\n")
        await writer.drain()
        reply = json.loads(await asyncio.wait_for(reader.readline(), REQUEST_TIMEOUT_S) or b"null")
    finally:
        writer.close()
    if not isinstance(reply, dict) or "data" not in reply:
        raise ControlError(reply.get("error", "bad reply") if isinstance(reply, dict) else "no reply")
    return reply["data"]
