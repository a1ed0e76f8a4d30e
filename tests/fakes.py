"""Fakes of outside services (lal.ai, Spotify, LLM providers) served on a real local socket."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Protocol, TypeVar

from aiohttp import web
from aiohttp.test_utils import TestServer


class Fake(Protocol):
    base_url: str

    def app(self) -> web.Application: ...


F = TypeVar("F", bound=Fake)


@contextlib.asynccontextmanager
async def serving(fake: F) -> AsyncIterator[F]:
    """``fake`` listening on 127.0.0.1, its ``base_url`` set to where it answers."""
    async with TestServer(fake.app(), host="127.0.0.1") as server:
        fake.base_url = str(server.make_url("")).rstrip("/")
        yield fake
