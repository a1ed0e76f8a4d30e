"""Spotify's accounts service: the authorize URL (with PKCE, S256), and the token endpoint's three grants
(authorization code, refresh token, client credentials).

Errors from ``/api/token`` are OAuth's JSON ``{"error", "error_description"}``; ``invalid_grant`` means the
code or refresh token will never work again and becomes :class:`SpotifyGrantRejected`. The client secret
travels only in the ``Authorization: Basic`` header and never appears in an error.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlencode

import aiohttp

from sfa.integrations.spotify.errors import SpotifyError, SpotifyGrantRejected

SCOPES = ("user-read-email", "user-read-private", "playlist-read-private", "playlist-read-collaborative")
TIMEOUT = aiohttp.ClientTimeout(total=15)


@dataclass(frozen=True, slots=True)
class TokenSet:
    access_token: str
    refresh_token: str | None
    scope: str
    expires_at: float

    @classmethod
    def from_answer(cls, answer: dict, *, refresh_token: str | None = None) -> TokenSet:
        """Spotify may omit ``refresh_token`` on a refresh: the old one then stays valid."""
        return cls(answer["access_token"], answer.get("refresh_token") or refresh_token, answer.get("scope", ""),
                   time.time() + int(answer.get("expires_in", 3600)))


def pkce_pair() -> tuple[str, str]:
    """A fresh code verifier and its S256 challenge (RFC 7636)."""
    verifier = secrets.token_urlsafe(64)
    return verifier, s256(verifier)


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


class SpotifyAccounts:
    def __init__(self, session: aiohttp.ClientSession, base_url: str, client_id: str,
                 client_secret: str | None) -> None:
        self._session, self.base_url = session, base_url.rstrip("/")
        self.client_id, self._client_secret = client_id, client_secret

    def authorize_url(self, *, state: str, challenge: str, redirect_uri: str) -> str:
        query = {"client_id": self.client_id, "response_type": "code", "redirect_uri": redirect_uri,
                 "state": state, "scope": " ".join(SCOPES), "code_challenge_method": "S256",
                 "code_challenge": challenge}
        return f"{self.base_url}/authorize?{urlencode(query)}"

    async def exchange_code(self, code: str, *, verifier: str, redirect_uri: str) -> TokenSet:
        answer = await self._token({"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                                    "code_verifier": verifier})
        return TokenSet.from_answer(answer)

    async def refresh(self, refresh_token: str) -> TokenSet:
        answer = await self._token({"grant_type": "refresh_token", "refresh_token": refresh_token})
        return TokenSet.from_answer(answer, refresh_token=refresh_token)

    async def client_credentials(self) -> TokenSet:
        if not self._client_secret:
            raise SpotifyError("SFA_SPOTIFY_CLIENT_SECRET is unset: the app cannot get a token of its own")
        return TokenSet.from_answer(await self._token({"grant_type": "client_credentials"}))

    async def _token(self, form: dict[str, str]) -> dict:
        headers = {"Accept": "application/json"}
        if self._client_secret:
            pair = f"{self.client_id}:{self._client_secret}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        try:
            async with self._session.post(f"{self.base_url}/api/token", data={**form, "client_id": self.client_id},
                                          headers=headers, timeout=TIMEOUT) as response:
                body = await response.json(content_type=None)
                status = response.status
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise SpotifyError(f"Spotify's accounts service could not be reached: {exc!r}") from None
        if status == 200 and isinstance(body, dict) and "access_token" in body:
            return body
        error = body.get("error", "unknown") if isinstance(body, dict) else "unknown"
        description = body.get("error_description", "") if isinstance(body, dict) else ""
        message = f"Spotify's token endpoint answered {status} {error}: {description}".rstrip(": ")
        if error == "invalid_grant":
            raise SpotifyGrantRejected(message, status=status)
        raise SpotifyError(message, status=status)
