"""The app served on a real local socket for tests, through the production runner (guarded connections,
the app's timeouts), so every test's requests take the path a deployed server's take."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from sfa.web import app_runner


class AppServer(TestServer):
    """``aiohttp.test_utils.TestServer`` whose runner is :func:`sfa.web.app_runner`."""

    async def _make_runner(self, **kwargs: Any) -> web.AppRunner:
        return app_runner(self.app, **kwargs)
