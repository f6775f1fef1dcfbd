"""The keyed phone tag: a pass proves which phone it was issued to without carrying the number.

``ph = HMAC-SHA256(K_ph[pk], "PG-PH1" || pass_id || last4)[:4]`` (signed-passes.md 5.5). Keyed,
because the 10^4 possible last-four digits fall to a brute force in milliseconds if the tag were a
plain or salted hash, and the borrower of a pass is exactly the attacker. K_ph lives on the server
and on gates only, never in the QR code.
"""

from __future__ import annotations

import hashlib
import hmac

from protocol.claims import PHONE_TAG_LENGTH, PassClaims

__all__ = ["DOMAIN", "digits_match", "phone_tag"]

DOMAIN = b"PG-PH1"
KEY_MIN_LENGTH = 16


def _check_digits(last4: str) -> bytes:
    if len(last4) != 4 or not last4.isascii() or not last4.isdigit():
        raise ValueError("the phone check uses exactly four ASCII digits")
    return last4.encode("ascii")


def phone_tag(key: bytes, pass_id: bytes, last4: str) -> bytes:
    """The 4-byte tag for a pass id and the last four digits of its registered phone."""
    if len(key) < KEY_MIN_LENGTH:
        raise ValueError(f"phone-tag keys are at least {KEY_MIN_LENGTH} bytes")
    mac = hmac.new(key, DOMAIN + pass_id + _check_digits(last4), hashlib.sha256)
    return mac.digest()[:PHONE_TAG_LENGTH]


def digits_match(claims: PassClaims, keys: dict[int, bytes], typed: str) -> bool:
    """Whether ``typed`` matches the pass's tag, in constant time; False if no key or tag."""
    if claims.phone_tag is None or claims.phone_key_version is None:
        return False
    key = keys.get(claims.phone_key_version)
    if key is None:
        return False
    try:
        expected = phone_tag(key, claims.pass_id, typed)
    except ValueError:
        return False
    return hmac.compare_digest(expected, claims.phone_tag)
