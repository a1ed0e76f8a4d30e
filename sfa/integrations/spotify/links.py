"""A user's link to a Spotify account, its provider tokens encrypted at rest, and the OAuth states in flight.

Tokens are sealed with Fernet (AES-128-CBC + HMAC-SHA256) under a key derived from ``SFA_SECRET_KEY`` for
this purpose alone, so a copy of the database gives no usable Spotify token. States are stored as SHA-256
hashes; taking one deletes it, so each works once, and only until it expires.
"""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken
from pypika import PostgreSQLQuery, Table
from pypika.terms import Parameter

from sfa.accounts.secrets import digest
from sfa.accounts.signing import derive_key
from sfa.integrations.spotify.accounts import TokenSet

spotify_links = Table("spotify_links")
spotify_oauth_states = Table("spotify_oauth_states")

LINK_COLUMNS = ("user_id", "spotify_user_id", "display_name", "access_token", "refresh_token", "scope",
                "expires_at", "inserted_at")


class TokenCipher:
    def __init__(self, secret_key: bytes) -> None:
        self._fernet = Fernet(base64.urlsafe_b64encode(derive_key(secret_key, "spotify provider tokens")))

    def seal(self, token: str | None) -> bytes | None:
        return None if token is None else self._fernet.encrypt(token.encode())

    def open(self, sealed: bytes | None) -> str | None:
        """The token, or None when it was sealed under another key (the secret key changed)."""
        if sealed is None:
            return None
        try:
            return self._fernet.decrypt(bytes(sealed)).decode()
        except InvalidToken:
            return None


@dataclass(frozen=True, slots=True)
class SpotifyLink:
    user_id: int
    spotify_user_id: str
    display_name: str | None
    tokens: TokenSet | None
    inserted_at: dt.datetime


def _at(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


SELECT_LINK = str(PostgreSQLQuery.from_(spotify_links).select(*LINK_COLUMNS)
                  .where(spotify_links.user_id == Parameter("$1")))
SELECT_LINK_BY_SPOTIFY = str(PostgreSQLQuery.from_(spotify_links).select(*LINK_COLUMNS)
                             .where(spotify_links.spotify_user_id == Parameter("$1")))
DELETE_LINK = str(PostgreSQLQuery.from_(spotify_links).delete().where(spotify_links.user_id == Parameter("$1"))
                  .returning(spotify_links.user_id))
# Upsert on the user: relinking replaces the old Spotify account and its tokens (pypika cannot spell this).
SAVE_LINK = """
INSERT INTO spotify_links (user_id, spotify_user_id, display_name, access_token, refresh_token, scope, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (user_id) DO UPDATE SET spotify_user_id = $2, display_name = $3, access_token = $4,
    refresh_token = $5, scope = $6, expires_at = $7, updated_at = now()
"""
SAVE_TOKENS = str(PostgreSQLQuery.update(spotify_links)
                  .set(spotify_links.access_token, Parameter("$2")).set(spotify_links.refresh_token, Parameter("$3"))
                  .set(spotify_links.scope, Parameter("$4")).set(spotify_links.expires_at, Parameter("$5"))
                  .where(spotify_links.user_id == Parameter("$1")))
INSERT_STATE = str(PostgreSQLQuery.into(spotify_oauth_states).columns("state_hash", "expires_at")
                   .insert(Parameter("$1"), Parameter("$2")))
# Taking a state is one DELETE: two callbacks racing with the same state cannot both get the row.
TAKE_STATE = str(PostgreSQLQuery.from_(spotify_oauth_states).delete()
                 .where(spotify_oauth_states.state_hash == Parameter("$1"))
                 .returning(spotify_oauth_states.expires_at))
PURGE_STATES = "DELETE FROM spotify_oauth_states WHERE expires_at < now()"


class LinkStore:
    def __init__(self, cipher: TokenCipher) -> None:
        self.cipher = cipher

    def _link(self, row) -> SpotifyLink | None:
        if row is None:
            return None
        access = self.cipher.open(row["access_token"])
        tokens = None if access is None else TokenSet(access, self.cipher.open(row["refresh_token"]), row["scope"],
                                                      row["expires_at"].timestamp())
        return SpotifyLink(row["user_id"], row["spotify_user_id"], row["display_name"], tokens, row["inserted_at"])

    async def get(self, conn, user_id: int) -> SpotifyLink | None:
        return self._link(await conn.fetchrow(SELECT_LINK, user_id))

    async def by_spotify_user(self, conn, spotify_user_id: str) -> SpotifyLink | None:
        return self._link(await conn.fetchrow(SELECT_LINK_BY_SPOTIFY, spotify_user_id))

    async def save(self, conn, user_id: int, spotify_user_id: str, display_name: str | None,
                   tokens: TokenSet) -> None:
        await conn.execute(SAVE_LINK, user_id, spotify_user_id, display_name, self.cipher.seal(tokens.access_token),
                           self.cipher.seal(tokens.refresh_token), tokens.scope, _at(tokens.expires_at))

    async def save_tokens(self, conn, user_id: int, tokens: TokenSet) -> None:
        await conn.execute(SAVE_TOKENS, user_id, self.cipher.seal(tokens.access_token),
                           self.cipher.seal(tokens.refresh_token), tokens.scope, _at(tokens.expires_at))

    async def unlink(self, conn, user_id: int) -> bool:
        return await conn.fetchval(DELETE_LINK, user_id) is not None


async def remember_state(conn, state: str, ttl_s: float) -> None:
    await conn.execute(PURGE_STATES)
    await conn.execute(INSERT_STATE, digest(state), dt.datetime.now(dt.UTC) + dt.timedelta(seconds=ttl_s))


async def take_state(conn, state: str) -> bool:
    """Whether ``state`` was issued, unused and unexpired; it is used up either way."""
    expires_at = await conn.fetchval(TAKE_STATE, digest(state))
    return expires_at is not None and expires_at > dt.datetime.now(dt.UTC)
