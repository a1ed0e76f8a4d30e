"""Spotify for the web app: one HTTP session, the accounts client, the metadata cache, the link store, and
the token each call runs under: the user's own when their account is linked (refreshed a minute before
it expires), else the app's client-credentials token.

A refresh the accounts service rejects removes the link (it can never work again) and raises
:class:`SpotifyLinkGone`, which the API answers with a 401 asking the user to reconnect.
"""

from __future__ import annotations

import asyncio
import time

import aiohttp

from sfa.config import Config
from sfa.db.database import Database
from sfa.integrations.spotify.accounts import SpotifyAccounts, TokenSet
from sfa.integrations.spotify.api import MetadataCache, SpotifyApi, TokenSource
from sfa.integrations.spotify.errors import SpotifyGrantRejected, SpotifyUnauthorized
from sfa.integrations.spotify.links import LinkStore, TokenCipher

REFRESH_MARGIN_S = 60.0


class SpotifyLinkGone(SpotifyUnauthorized):
    """The user's Spotify link was revoked (Spotify refused its refresh token) and has been removed."""


class SpotifyService:
    def __init__(self, config: Config, database: Database, secret_key: bytes) -> None:
        self.config, self.database = config, database
        self.links = LinkStore(TokenCipher(secret_key))
        self.cache = MetadataCache()
        self._session: aiohttp.ClientSession | None = None
        self._app_token: TokenSet | None = None
        self._locks: dict[int | None, asyncio.Lock] = {}

    @property
    def configured(self) -> bool:
        return self.config.spotify_client_id is not None

    async def start(self) -> None:
        self._session = aiohttp.ClientSession()

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()

    @property
    def accounts(self) -> SpotifyAccounts:
        return SpotifyAccounts(self._session, self.config.spotify_accounts_url, self.config.spotify_client_id,
                               self.config.spotify_client_secret)

    def api(self, token: TokenSource) -> SpotifyApi:
        return SpotifyApi(self._session, self.config.spotify_api_url, token, self.cache)

    async def api_for(self, user_id: int) -> SpotifyApi:
        """The Web API as this user: their own token when linked, else the app's."""
        async with self.database.pool.acquire() as conn:
            linked = await self.links.get(conn, user_id) is not None
        return self.api(self._user_token(user_id) if linked else self._app_token_source)

    async def _app_token_source(self, force: bool) -> str:
        async with self._locks.setdefault(None, asyncio.Lock()):
            if force or self._app_token is None or self._app_token.expires_at - REFRESH_MARGIN_S < time.time():
                self._app_token = await self.accounts.client_credentials()
            return self._app_token.access_token

    def _user_token(self, user_id: int) -> TokenSource:
        async def source(force: bool) -> str:
            async with self._locks.setdefault(user_id, asyncio.Lock()), self.database.pool.acquire() as conn:
                link = await self.links.get(conn, user_id)
                tokens = None if link is None else link.tokens
                if tokens is not None and (force or tokens.expires_at - REFRESH_MARGIN_S < time.time()):
                    tokens = await self._refresh(conn, user_id, tokens)
                if tokens is None:
                    await self.links.unlink(conn, user_id)
                    raise SpotifyLinkGone("your Spotify account is no longer linked: reconnect it at /auth/spotify",
                                          status=401)
                return tokens.access_token

        return source

    async def _refresh(self, conn, user_id: int, tokens: TokenSet) -> TokenSet | None:
        """New tokens, saved; None when Spotify will never refresh these again."""
        if tokens.refresh_token is None:
            return None
        try:
            fresh = await self.accounts.refresh(tokens.refresh_token)
        except SpotifyGrantRejected:
            return None
        await self.links.save_tokens(conn, user_id, fresh)
        return fresh
