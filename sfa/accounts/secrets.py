"""Random secrets shown once and stored only as a hash (API tokens, browser sessions).

The secrets are 256-bit random strings, so a single SHA-256 is enough to look them up safely: unlike
passwords they cannot be guessed from a dictionary.
"""

from __future__ import annotations

import hashlib
import secrets


def new_secret(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()
