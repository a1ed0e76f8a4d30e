"""Password hashing with argon2id (argon2-cffi's defaults, tuned by its maintainers)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()

MIN_LENGTH = 12
MAX_LENGTH = 128


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(hashed: str | None, password: str) -> bool:
    """True when ``password`` matches; a missing hash still costs one hash so timing leaks nothing."""
    if hashed is None:
        _hasher.hash(password)
        return False
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def password_problems(password: object) -> list[str]:
    if not isinstance(password, str):
        return ["must be a string"]
    if len(password) < MIN_LENGTH:
        return [f"should be at least {MIN_LENGTH} characters"]
    if len(password) > MAX_LENGTH:
        return [f"should be at most {MAX_LENGTH} characters"]
    return []
