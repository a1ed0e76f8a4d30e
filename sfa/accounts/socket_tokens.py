"""Short-lived signed tokens a browser page hands its ``phoenix`` client, bound to one user (pyjwt, HS256)."""

from __future__ import annotations

import time

import jwt

AUDIENCE = "sfa:socket"
ALGORITHM = "HS256"


def mint_socket_token(key: bytes, user_id: int, ttl_s: int) -> str:
    now = int(time.time())
    return jwt.encode({"sub": str(user_id), "aud": AUDIENCE, "iat": now, "exp": now + ttl_s}, key,
                      algorithm=ALGORITHM)


def socket_token_user_id(key: bytes, token: str) -> int | None:
    """The user id a valid, unexpired token was minted for; None for anything else."""
    try:
        claims = jwt.decode(token, key, algorithms=[ALGORITHM], audience=AUDIENCE,
                            options={"require": ["exp", "sub", "aud"]})
        return int(claims["sub"])
    except (jwt.PyJWTError, ValueError):
        return None
