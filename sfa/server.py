"""Start-up and shutdown of one server process, in a supervisor's order: database, migrations, cluster
membership, supervision tree, job queue, pubsub, endpoint.

A worker-only node (``python3 run.py worker``) starts the same steps but the endpoint: it claims jobs from
its queues and runs them in its worker tree, and its job events reach the sockets of every web node through
the database (NOTIFY), as any node's do.

Stopping runs the same steps backwards. The endpoint stops accepting first, then in-flight requests get up
to ``SFA_SHUTDOWN_S`` to finish, then the pool closes and an embedded PostgreSQL we started is stopped.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import secrets
import socket
from collections.abc import Sequence
from urllib.parse import urlsplit

from aiohttp import web

from sfa.accounts.bootstrap import ensure_super_admin
from sfa.actors import ActorTree
from sfa.config import Config
from sfa.db import Database, EmbeddedPostgres, ensure_database, migrate
from sfa.job_kinds import JOB_KINDS
from sfa.jobs import JobKinds, JobQueue, pool_executor
from sfa.jobs.maintenance import Maintenance
from sfa.nodes import ClusterNode
from sfa.pubsub import PubSub
from sfa.web import make_app, serve
from sfa.web.keys import ACTOR_TREE

log = logging.getLogger(__name__)

EMBEDDED_DATABASE = "sfa"


def step(name: str, message: str) -> None:
    """One line of start-up progress on stdout, in the format ``run.py`` uses for its own steps."""
    print(f"{name}: {message}", flush=True)


def redact(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p).get("host", "")
    return f"{parts.scheme}://{host}{':' + str(parts.port) if parts.port else ''}{parts.path}"


class Server:
    def __init__(self, config: Config, kinds: JobKinds = JOB_KINDS, *, web: bool = True,
                 queues: Sequence[str] | None = None) -> None:
        """``web``: serve HTTP (else a worker-only node); ``queues``: those of the kinds' queues this node
        claims jobs from (default: every one)."""
        self.config = config
        self.kinds = kinds
        self.web = web
        self.queues = {queue: count for queue, count in kinds.queues(config).items()
                       if queues is None or queue in queues}
        self.node = f"{socket.gethostname()}/{os.getpid()}/{secrets.token_hex(4)}"
        self.member: ClusterNode | None = None
        self.maintenance: Maintenance | None = None
        self.embedded: EmbeddedPostgres | None = None
        self.database: Database | None = None
        self.tree: ActorTree | None = None
        self.jobs: JobQueue | None = None
        self.pubsub: PubSub | None = None
        self.runner: web.AppRunner | None = None

    async def open_database(self) -> str:
        """Start (or attach to) the embedded server when needed, make sure the database exists, migrate it."""
        url = self.config.database_url
        if url is None:
            self.embedded = EmbeddedPostgres(self.config.pg_dir)
            started = await asyncio.to_thread(self.embedded.start)
            url = self.embedded.url(EMBEDDED_DATABASE)
            await ensure_database(url)
            step("database", f"embedded PostgreSQL in {self.config.pg_dir} ({'started' if started else 'attached'})")
        else:
            step("database", f"DATABASE_URL {redact(url)}")
        applied = await migrate(url)
        step("migrations", f"applied {', '.join(m.path.name for m in applied)}" if applied else "up to date")
        return url

    async def start(self) -> None:
        url = await self.open_database()
        self.database = await Database(url, max_size=self.config.db_pool_max).connect()
        self.member = await ClusterNode(self.database, self.config.data_dir, self.node,
                                        role="web" if self.web else "worker", queues=list(self.queues),
                                        lease_s=self.config.queue_lease_s).join()
        self.tree = await ActorTree(self.config, self.queues, self.kinds.performers()).start()
        pools = {**self.tree.pools, **({"gpu": self.tree.gpu} if self.tree.gpu else {})}
        self.jobs = await JobQueue(self.database, self.config, pool_executor(pools, self.kinds), self.queues,
                                   kinds=self.kinds, node=self.node).start()
        self.maintenance = Maintenance(self.database, self.config).start()
        self.pubsub = await PubSub(self.database, node=self.node).start()
        if not self.web:
            queues = ", ".join(f"{queue} ({count})" for queue, count in self.queues.items())
            step("worker", f"node {self.node} runs jobs from {queues}; no HTTP endpoint")
            return
        app = make_app(self.config, self.database, self.pubsub)
        app[ACTOR_TREE] = self.tree
        self.runner = await serve(app, self.config.host, self.config.port, shutdown_timeout=self.config.shutdown_s)
        base = f"http://{self.config.host}:{self.config.port}"
        step("serving", base)
        await self.announce_admin(base)

    async def announce_admin(self, base: str) -> None:
        """Create the first super_admin if there is none and tell the operator how to get in."""
        email = self.config.admin_email
        password = await ensure_super_admin(self.database, email, self.config.admin_password)
        if password:
            step("admin", f"created super_admin {email} with password {password} (shown once; change it in settings)")
        elif password == "":
            step("admin", f"created super_admin {email} with the password in SFA_ADMIN_PASSWORD")
        step("login", f"{base}/users/log_in; API keys: {base}/users/settings or `python3 run.py create-token EMAIL`")

    async def stop(self) -> None:
        """Stop what started, in reverse order. A step that fails is logged and the rest still run, so a
        broken worker tree never leaves the embedded PostgreSQL behind; the first failure is raised last."""
        steps = [
            ("endpoint", self.runner and self.runner.cleanup),
            ("job queue", self.jobs and self.jobs.stop),
            ("job maintenance", self.maintenance and self.maintenance.stop),
            ("supervision tree", self.tree and self.tree.stop),
            ("pubsub", self.pubsub and self.pubsub.stop),
            ("cluster membership", self.member and self.member.leave),
            ("database pool", self.database and self.database.close),
            ("embedded PostgreSQL", self.embedded and functools.partial(asyncio.to_thread, self.embedded.stop)),
        ]
        failures = []
        for name, stop in steps:
            if stop is None:
                continue
            try:
                await stop()
            except Exception as exc:
                log.exception("stopping the %s failed", name)
                failures.append(exc)
        if failures:
            raise failures[0]
