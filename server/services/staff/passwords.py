"""Password hashing with argon2id at the OWASP parameters (19 MiB, t=2, p=1; S-01) and rules.

Rules follow ASVS 6.2: at least 10 characters, up to 128, any characters, no composition rules,
refuse a short list of the most common passwords; no periodic rotation.
"""

from __future__ import annotations

import functools
import secrets
import unicodedata

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from server.services.errors import Invalid

MIN_LENGTH = 10
MAX_LENGTH = 128
_COMMON = frozenset(
    {
        "1234567890",
        "12345678910",
        "0123456789",
        "1111111111",
        "0000000000",
        "qwertyuiop",
        "password12",
        "password123",
        "password1234",
        "iloveyou12",
        "qwerty1234",
        "1q2w3e4r5t",
        "abcdefghij",
        "a123456789",
        "woaini1314",
        "woaini5201314",
        "5201314520",
        "1234qwer1234",
        "administrator",
        "gatepass123",
        "admin12345",
        "changeme123",
    }
)
_HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, type=Type.ID)


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the user name is unknown, so both cases cost the same (ASVS 6.3.8)."""
    return _HASHER.hash(secrets.token_urlsafe(16))


def check_rules(password: str) -> str:
    """NFC-normalise and check a new password; Invalid says which rule it breaks."""
    password = unicodedata.normalize("NFC", password)
    if len(password) < MIN_LENGTH:
        raise Invalid(f"a password has at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise Invalid(f"a password has at most {MAX_LENGTH} characters")
    if password.lower() in _COMMON:
        raise Invalid("this password is too common")
    return password


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
