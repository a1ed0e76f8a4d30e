"""The signed tokens an HTTP render embeds for the join (``data-phx-session``, ``data-phx-static``).

As Phoenix.Token they are signed, not encrypted, and live 14 days: the session token names the view's id,
the view and the user it was rendered for; the static token repeats the id and carries the flash. A token
that is forged, expired or made for another id or user is ``stale``, and the client then reloads the page,
which renders fresh tokens.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import jwt

ALGORITHM = "HS256"
MAX_AGE_S = 14 * 24 * 3600
SESSION_AUDIENCE = "sfa:live:session"
STATIC_AUDIENCE = "sfa:live:static"
FLASH_AUDIENCE = "sfa:live:flash"
FLASH_MAX_AGE_S = 60


@dataclass(frozen=True, slots=True)
class ViewSession:
    id: str
    view: str
    user_id: int
    flash: dict[str, str]


def sign_session(key: bytes, view_id: str, view: str, user_id: int) -> str:
    return _sign(key, SESSION_AUDIENCE, {"id": view_id, "view": view, "sub": str(user_id)})


def sign_static(key: bytes, view_id: str, flash: dict[str, str]) -> str:
    return _sign(key, STATIC_AUDIENCE, {"id": view_id, "flash": flash})


def verify(key: bytes, view_id: str, session: Any, static: Any) -> ViewSession | None:
    """The session both tokens sign for ``view_id``; None when either is invalid, expired or for another
    view (a missing static token, ``data-phx-static=""``, means no flash)."""
    claims = _claims(key, SESSION_AUDIENCE, session)
    if claims is None or claims.get("id") != view_id or not isinstance(claims.get("view"), str):
        return None
    flash: dict[str, str] = {}
    if static is not None:
        static_claims = _claims(key, STATIC_AUDIENCE, static)
        if static_claims is None or static_claims.get("id") != view_id:
            return None
        flash = {str(k): str(v) for k, v in dict(static_claims.get("flash") or {}).items()}
    try:
        return ViewSession(view_id, claims["view"], int(claims["sub"]), flash)
    except (TypeError, ValueError):
        return None


def sign_flash(key: bytes, flash: dict[str, str]) -> str:
    """The flash a live redirect carries to the next view's join (short-lived: it is read at once)."""
    now = int(time.time())
    return jwt.encode({"flash": flash, "id": "flash", "aud": FLASH_AUDIENCE, "iat": now,
                       "exp": now + FLASH_MAX_AGE_S}, key, algorithm=ALGORITHM)


def verify_flash(key: bytes, token: Any) -> dict[str, str]:
    claims = _claims(key, FLASH_AUDIENCE, token)
    return {} if claims is None else {str(k): str(v) for k, v in dict(claims.get("flash") or {}).items()}


def _sign(key: bytes, audience: str, claims: dict[str, Any]) -> str:
    now = int(time.time())
    return jwt.encode({**claims, "aud": audience, "iat": now, "exp": now + MAX_AGE_S}, key, algorithm=ALGORITHM)


def _claims(key: bytes, audience: str, token: Any) -> dict[str, Any] | None:
    if not isinstance(token, str):
        return None
    try:
        return jwt.decode(token, key, algorithms=[ALGORITHM], audience=audience,
                          options={"require": ["exp", "aud", "id"]})
    except jwt.PyJWTError:
        return None
