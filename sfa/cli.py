"""``python -m sfa COMMAND``: what ``run.py`` hands its command line to once the environment is ready."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import json
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from sfa import log as sfa_log
from sfa.accounts import EmailTaken, create_api_token, create_user, get_user_by_email
from sfa.accounts.bootstrap import generate_password
from sfa.accounts.passwords import password_problems
from sfa.accounts.roles import ROLES, canonical_role
from sfa.config import Config, ConfigError, unknown_variables
from sfa.db import Database, MigrationError
from sfa.db.embedded import EmbeddedPostgresError
from sfa.job_kinds import JOB_KINDS
from sfa.nodes import DataDirNotShared
from sfa.server import Server, step
from sfa.supervisors.control import SOCKET_NAME, ControlError, ask
from sfa.supervisors.render import render

log = logging.getLogger("sfa")

ROOT = Path(__file__).resolve().parents[1]
STARTUP_ERRORS = (MigrationError, EmbeddedPostgresError, DataDirNotShared, OSError)


class CommandError(Exception):
    """A command cannot do what was asked; the message is printed and the exit code is 1."""


def queue_list(raw: str) -> list[str]:
    """``--queues``: a comma-separated list of the job queues, each at most once."""
    queues = [part.strip() for part in raw.split(",") if part.strip()]
    known = sorted({kind.queue for kind in JOB_KINDS.values()})
    if not queues or len(set(queues)) != len(queues) or not set(queues) <= set(known):
        raise argparse.ArgumentTypeError(f"expected a comma-separated list of {', '.join(known)}")
    return queues


async def serve(config: Config, args: argparse.Namespace) -> int:
    return await run_node(Server(config, queues=args.queues))


async def worker(config: Config, args: argparse.Namespace) -> int:
    return await run_node(Server(config, web=False, queues=args.queues))


async def run_node(server: Server) -> int:
    config = server.config
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    try:
        await server.start()
        await stopping.wait()
        step("stopping", f"finishing in-flight requests (up to {config.shutdown_s:g}s)" if server.web
             else "putting unfinished jobs back in the queue")
    finally:
        await server.stop()
    step("stopped", "bye")
    return 0


async def with_database(config: Config, work: Callable[[Database], Awaitable[int]]) -> int:
    """Run ``work`` against the server's database (attaching to a running embedded one), then let go."""
    server = Server(config)
    try:
        database = await Database(await server.open_database(), max_size=2).connect()
        try:
            return await work(database)
        finally:
            await database.close()
    finally:
        await server.stop()


async def migrate_only(config: Config, args: argparse.Namespace) -> int:
    async def nothing_more(database: Database) -> int:
        return 0

    return await with_database(config, nothing_more)


def ask_password() -> str:
    """Prompt twice on a terminal; with no terminal, generate one (printed by the caller)."""
    if not sys.stdin.isatty():
        return ""
    password = getpass.getpass("password: ")
    if password != getpass.getpass("again: "):
        raise CommandError("the passwords differ")
    if problems := password_problems(password):
        raise CommandError(f"password {problems[0]}")
    return password


async def create_user_command(config: Config, args: argparse.Namespace) -> int:
    role = canonical_role(args.role)
    if role is None:
        raise CommandError(f"--role must be one of {', '.join(ROLES)}")
    typed = ask_password()
    password = typed or generate_password()

    async def work(database: Database) -> int:
        try:
            user = await create_user(database, args.email, password, role=role)
        except EmailTaken:
            raise CommandError(f"{args.email} is already registered") from None
        step("user", f"created {user.email} (id {user.id}, role {user.role})")
        if not typed:
            step("password", f"{password} (shown once)")
        return 0

    return await with_database(config, work)


async def create_token_command(config: Config, args: argparse.Namespace) -> int:
    async def work(database: Database) -> int:
        user = await get_user_by_email(database, args.email)
        if user is None:
            raise CommandError(f"no user has the email {args.email}")
        token, secret = await create_api_token(database, user.id, args.name)
        step("token", f"created {token.name!r} for {user.email}; it is shown once, on the next line")
        print(secret, flush=True)
        return 0

    return await with_database(config, work)


async def status_command(config: Config, args: argparse.Namespace) -> int:
    """Ask the server running with this SFA_VAR_DIR, over its control socket, for its supervision tree."""
    try:
        status = await ask(config.var_dir / SOCKET_NAME, "status")
    except ControlError as exc:
        raise CommandError(str(exc)) from None
    print(json.dumps(status, indent=2) if args.json else render(status["tree"]), flush=True)
    return 0


async def models_command(config: Config, args: argparse.Namespace) -> int:
    """Each separation model's files under the torch hub cache, their hashes and (``--check``) a smoke
    separation; exit code 1 when a model that is present fails."""
    from sfa.separation.check import check_models, native_parts
    from sfa.separation.registry import MODELS, hub_dir

    hub = hub_dir()
    step("hub", f"{hub} (TORCH_HOME/hub)")
    if args.check:
        step("cpu kernels", native_parts())
    failed = []
    for model in check_models(MODELS, hub, separate=args.check):
        verdict = "missing" if not model.present else "ok" if model.ok else "FAILED"
        print(f"{model.name}: {verdict}", flush=True)
        for file in model.files:
            print(f"  {file.describe()}")
        if model.smoke is not None:
            print(f"  smoke separation: {model.smoke}", flush=True)
        if not model.ok:
            failed.append(model.name)
    if failed:
        raise CommandError(f"{len(failed)} model(s) failed the check: {', '.join(failed)}")
    return 0


def run_tests(pytest_args: list[str]) -> int:
    os.chdir(ROOT)
    os.execv(sys.executable, [sys.executable, "-m", "pytest", *pytest_args])


Command = Callable[[Config, argparse.Namespace], Awaitable[int]]


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="python3 run.py",
        description="Sound Forge Alchemy. Every setting comes from SFA_* environment variables (see README.md).",
    )
    commands = root.add_subparsers(dest="command", metavar="COMMAND")
    queues_help = "claim jobs only from these queues (default: every queue), e.g. processing,analysis"
    serve_command = commands.add_parser("serve", help="start the server (the default command)")
    serve_command.add_argument("--queues", type=queue_list, help=queues_help)
    serve_command.set_defaults(run=serve)
    worker_command = commands.add_parser(
        "worker", help="start a worker-only node: runs jobs, serves no HTTP (same database and SFA_DATA_DIR)")
    worker_command.add_argument("--queues", type=queue_list, help=queues_help)
    worker_command.set_defaults(run=worker)
    commands.add_parser("test", help="run the whole test suite (extra arguments go to pytest)")
    commands.add_parser("migrate", help="apply pending migrations and exit").set_defaults(run=migrate_only)
    user = commands.add_parser("create-user", help="add a user (password prompted, or generated and printed)")
    user.add_argument("email")
    user.add_argument("--role", default="user", help=f"one of {', '.join(ROLES)} (default: user)")
    user.set_defaults(run=create_user_command)
    token = commands.add_parser("create-token", help="print a new API token for a user as the last line")
    token.add_argument("email")
    token.add_argument("--name", default="cli", help="a name to recognise the token by (default: cli)")
    token.set_defaults(run=create_token_command)
    status = commands.add_parser("status", help="print the running server's supervision tree (same host)")
    status.add_argument("--json", action="store_true", help="the tree as JSON, as /api/admin/supervisors has it")
    status.set_defaults(run=status_command)
    models = commands.add_parser("models", help="list the separation models' weight files in the torch hub cache")
    models.add_argument("--check", action="store_true",
                        help="also verify each checkpoint's hash and separate 5 s with every model present")
    models.set_defaults(run=models_command)
    root.set_defaults(run=serve, queues=None)
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
    try:
        return asyncio.run(args.run(config, args))
    except CommandError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except STARTUP_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
