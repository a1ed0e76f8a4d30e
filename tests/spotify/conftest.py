"""The fake Spotify on a real local socket, the server's settings pointed at it, and a browser-like client
(cookie jar, no automatic redirects) that walks the OAuth dance."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp
import pytest

from sfa.config import Config
from tests.pages import meta
from tests.spotify.fake_spotify import FakeSpotify, settings


@pytest.fixture(autouse=True)
async def no_download_left_queued(database) -> AsyncIterator[None]:
    """Imports queue download jobs in the session's shared database; a later test's download queue must not
    find them (they would search for their audio at the default resolver, which is on the internet)."""
    before = await database.pool.fetchval("SELECT coalesce(max(id), 0) FROM jobs")
    yield
    await database.pool.execute("UPDATE jobs SET state = 'cancelled' WHERE id > $1 AND state = 'queued'", before)


@pytest.fixture
def config(tmp_path: Path, database_url: str, spotify: FakeSpotify) -> Config:
    return Config.from_env({"SFA_VAR_DIR": str(tmp_path / "var"), "SFA_DATA_DIR": str(tmp_path / "data"),
                            "DATABASE_URL": database_url, **settings(spotify)})


@dataclass
class Browser:
    """An HTTP client with its own cookie jar, as one browser; redirects are followed by hand."""

    session: aiohttp.ClientSession
    base: str
    spotify_url: str

    async def get(self, url: str) -> aiohttp.ClientResponse:
        response = await self.session.get(url if url.startswith("http") else self.base + url, allow_redirects=False)
        await response.read()
        return response

    async def post(self, url: str, data: dict) -> aiohttp.ClientResponse:
        response = await self.session.post(url if url.startswith("http") else self.base + url, data=data,
                                           allow_redirects=False)
        await response.read()
        return response

    async def csrf(self, path: str = "/users/log_in") -> str:
        page = await (await self.get(path)).text()
        return meta(page, "csrf-token")

    async def log_in(self, email: str, password: str) -> None:
        response = await self.post("/users/log_in", {"user[email]": email, "user[password]": password,
                                                     "_csrf_token": await self.csrf()})
        assert response.status == 302, await response.text()

    async def start_spotify(self) -> dict[str, str]:
        """``GET /auth/spotify``; the authorize URL's query."""
        response = await self.get("/auth/spotify")
        assert response.status == 302, await response.text()
        return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["Location"]).query).items()}

    async def consent(self, query: dict[str, str], decision: str = "agree") -> str:
        """Decide on the fake's consent page; the callback URL it sends the browser to."""
        page = await self.get(f"{self.spotify_url}/authorize?{urlencode(query)}")
        assert page.status == 200, await page.text()
        decided = await self.post(f"{self.spotify_url}/authorize/decide", query | {"decision": decision})
        assert decided.status == 302
        return decided.headers["Location"]

    async def sign_in_with_spotify(self) -> aiohttp.ClientResponse:
        return await self.get(await self.consent(await self.start_spotify()))


@pytest.fixture
async def browsers(client, spotify: FakeSpotify) -> AsyncIterator:
    opened: list[aiohttp.ClientSession] = []

    def open_browser() -> Browser:
        session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        opened.append(session)
        return Browser(session, f"http://127.0.0.1:{client.server.port}", spotify.base_url)

    yield open_browser
    for session in opened:
        await session.close()
