"""A fresh database for a bench: on the PostgreSQL server ``DATABASE_URL`` names, else on an embedded one
started for the run; dropped (and the embedded server stopped) afterwards."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sfa.db import EmbeddedPostgres, ensure_database, migrate
from sfa.db.database import drop_database, with_database


@asynccontextmanager
async def fresh_database(prefix: str) -> AsyncIterator[str]:
    """The URL of a new, migrated database named ``<prefix>_<random>``."""
    server_url = os.environ.get("DATABASE_URL")
    embedded = None
    if not server_url:
        embedded = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="sfa-bench-")) / "pg", durable=False)
        embedded.start()
        server_url = embedded.url()
    url = with_database(server_url, f"{prefix}_{uuid.uuid4().hex[:8]}")
    try:
        await ensure_database(url)
        await migrate(url)
        yield url
    finally:
        await drop_database(url)
        if embedded is not None:
            embedded.stop()
