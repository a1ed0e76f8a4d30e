"""``python -m sfa COMMAND``: what ``run.py`` hands its command line to once the environment is ready."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from sfa import log as sfa_log
from sfa.config import Config, ConfigError, unknown_variables
from sfa.db import MigrationError
from sfa.db.embedded import EmbeddedPostgresError
from sfa.server import Server, step

log = logging.getLogger("sfa")

ROOT = Path(__file__).resolve().parents[1]
STARTUP_ERRORS = (MigrationError, EmbeddedPostgresError, OSError)


async def serve(config: Config) -> int:
    server = Server(config)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    try:
        await server.start()
        await stopping.wait()
        step("stopping", f"finishing in-flight requests (up to {config.shutdown_s:g}s)")
    finally:
        await server.stop()
    step("stopped", "bye")
    return 0


async def migrate_only(config: Config) -> int:
    server = Server(config)
    try:
        await server.open_database()
    finally:
        await server.stop()
    return 0


def run_tests(pytest_args: list[str]) -> int:
    os.chdir(ROOT)
    os.execv(sys.executable, [sys.executable, "-m", "pytest", *pytest_args])


COMMANDS: dict[str, tuple[str, Callable[[Config], object]]] = {
    "serve": ("start the server (the default command)", serve),
    "migrate": ("apply pending migrations and exit", migrate_only),
}


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="python3 run.py",
        description="Sound Forge Alchemy. Every setting comes from SFA_* environment variables (see README.md).",
    )
    commands = root.add_subparsers(dest="command", metavar="COMMAND")
    for name, (help_text, _) in COMMANDS.items():
        commands.add_parser(name, help=help_text)
    tests = commands.add_parser("test", help="run the whole test suite (extra arguments go to pytest)")
    tests.add_argument("pytest_args", nargs=argparse.REMAINDER)
    return root


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["test"]:
        return run_tests(argv[1:])
    args = parser().parse_args(argv)
    try:
        config = Config.from_env()
    except ConfigError as exc:
        print(f"config: {exc}", file=sys.stderr)
        return 2
    sfa_log.configure(config.log_level)
    for name in unknown_variables(os.environ):
        log.warning("%s is not a setting this server knows; ignored", name)
    _, command = COMMANDS[args.command or "serve"]
    try:
        return asyncio.run(command(config))
    except STARTUP_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
