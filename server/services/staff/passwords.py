"""Password hashing with argon2id at the OWASP parameters (19 MiB, t=2, p=1; S-01).

What a new password must be is server.services.staff.password_rules.
"""

from __future__ import annotations

import functools
import secrets
import unicodedata

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, type=Type.ID)


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the user name is unknown, so both cases cost the same (ASVS 6.3.8)."""
    return _HASHER.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    """An argon2id hash string (``$argon2id$...``)."""
    return _HASHER.hash(unicodedata.normalize("NFC", password))


def verify_password(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches; a missing account is checked against a dummy hash."""
    try:
        return _HASHER.verify(stored or _dummy_hash(), unicodedata.normalize("NFC", password)) and (
            stored is not None
        )
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """Whether a stored hash uses older parameters (rehash at the next login)."""
    return _HASHER.check_needs_rehash(stored)


def one_time_password() -> str:
    """A random password for a new account, shown once, to be changed at first login."""
    return secrets.token_urlsafe(15)
