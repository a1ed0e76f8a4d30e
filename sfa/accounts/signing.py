"""The server's secret key and the purpose-bound keys derived from it.

``SFA_SECRET_KEY`` when set; otherwise a key generated once into ``SFA_VAR_DIR/secret_key`` (mode 0600), so
sessions survive restarts without anyone having to invent a secret. Each use (cookie encryption, socket
tokens) gets its own key derived with HMAC, so one leaking through a bug does not expose the others.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

KEY_FILE = "secret_key"


def load_secret_key(configured: str | None, var_dir: Path) -> bytes:
    if configured:
        return configured.encode()
    path = var_dir / KEY_FILE
    var_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(48))
    return path.read_bytes().strip()


def derive_key(secret_key: bytes, purpose: str) -> bytes:
    return hmac.new(secret_key, purpose.encode(), hashlib.sha256).digest()
