"""Signed passes: ``PG1:`` + Base45(COSE_Sign1(CWT claims)), issued and verified offline.

Verification is a pure function of the text, the trust state and ``now``, and follows the gate
order of signed-passes.md 5.3: length and prefix, Base45 (zlib only under an output cap), the
COSE structure and allow-listed algorithm, the key by kid, the signature *before* any claim is
read, the claims schema, the key's window, the site, the validity window with a clock skew, and
the revocation list. Each failure raises its own PassError subclass (protocol.errors).
Zone, lane direction, schedules, anti-passback and holds depend on the gate and belong to its
decision, not here.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass

from protocol import base45
from protocol.claims import PassClaims, decode_claims, encode_claims
from protocol.cose import PrivateKey, PublicKey, decode_sign1, sign1, verify_signature
from protocol.errors import (
    DecompressionBomb,
    KeyNotValid,
    NotYetValid,
    PassExpired,
    UnknownFormat,
    UnknownKey,
    UnreadablePass,
    WrongSite,
)
from protocol.keys import kid_for
from protocol.manifest import KeyManifest, KeyUse, TrustedKey, trusted_keys
from protocol.revocation import RevocationState, check_revocation

__all__ = ["DEFAULT_SKEW", "MAX_PASS_CHARS", "PREFIX", "Trust", "issue", "unwrap", "verify"]

PREFIX = "PG1:"
MAX_PASS_CHARS = 600
MAX_INFLATED = 1024
DEFAULT_SKEW = 300
_ZLIB_FIRST_BYTE = 0x78


@dataclass(frozen=True, slots=True)
class Trust:
    """What a verifier trusts: the site, pass keys by kid, and the applied revocation state."""

    site: str
    keys: Mapping[bytes, TrustedKey]
    revocations: RevocationState | None = None
    skew: int = DEFAULT_SKEW

    @classmethod
    def from_manifest(
        cls,
        manifest: KeyManifest,
        revocations: RevocationState | None = None,
        *,
        skew: int = DEFAULT_SKEW,
    ) -> Trust:
        """Trust the manifest's pass keys for its site."""
        keys = {k: v for k, v in trusted_keys(manifest).items() if v.use == KeyUse.PASS}
        return cls(manifest.site, keys, revocations, skew)


def issue(claims: PassClaims, private_key: PrivateKey) -> str:
    """Sign claims into pass text; refuses claims that its own verifier would reject."""
    payload = encode_claims(claims)
    decode_claims(payload)  # the same schema the gate applies, so no unverifiable pass leaves
    return PREFIX + base45.encode(sign1(payload, private_key, kid_for(private_key)))


def unwrap(text: str) -> bytes:
    """Check length, characters and prefix, then Base45 (and capped zlib): the COSE bytes."""
    if not text:
        raise UnreadablePass("empty scan")
    if len(text) > MAX_PASS_CHARS:
        raise UnreadablePass(f"{len(text)} characters, above the {MAX_PASS_CHARS} limit")
    if not (text.isascii() and text.isprintable()):  # 0x20-0x7E, at C speed on every scan
        raise UnreadablePass("contains characters outside printable ASCII")
    if not text.startswith(PREFIX):
        raise UnknownFormat("not a gatepass code (expected the PG1: prefix)")
    data = base45.decode(text[len(PREFIX) :])
    if data[:1] == bytes([_ZLIB_FIRST_BYTE]):
        data = _inflate(data)
    return data


def _inflate(data: bytes) -> bytes:
    """Inflate a zlib body, refusing more than MAX_INFLATED bytes of output."""
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, MAX_INFLATED)
    except zlib.error as exc:
        raise DecompressionBomb(f"broken zlib body: {exc}") from None
    if inflater.unconsumed_tail or not inflater.eof:
        raise DecompressionBomb(f"zlib body is truncated or inflates beyond {MAX_INFLATED} bytes")
    return out


def verify(text: str, trust: Trust, now: int) -> PassClaims:
    """Verify pass text at unix time ``now``; return its claims or raise a PassError subclass."""
    message = decode_sign1(unwrap(text))
    key = trust.keys.get(message.kid)
    if key is None:
        raise UnknownKey(f"no trusted pass key with kid {message.kid.hex()}")
    public: PublicKey = key.public
    verify_signature(public, message.alg, message.protected, message.payload, message.signature)
    claims = decode_claims(message.payload)
    _check_key_window(key, claims, now)
    _check_site_and_time(claims, trust, now)
    if trust.revocations is not None:
        check_revocation(trust.revocations, claims)
    return claims


def _check_key_window(key: TrustedKey, claims: PassClaims, now: int) -> None:
    if not key.sign_from <= claims.issued_at <= key.sign_until:
        raise KeyNotValid(f"key {key.kid.hex()} did not sign passes at {claims.issued_at}")
    if now > key.verify_until:
        raise KeyNotValid(f"key {key.kid.hex()} retired at {key.verify_until}")


def _check_site_and_time(claims: PassClaims, trust: Trust, now: int) -> None:
    if claims.site != trust.site:
        raise WrongSite(f"pass for site {claims.site!r}, this gate is {trust.site!r}")
    if now + trust.skew < claims.not_before:
        raise NotYetValid(f"valid from {claims.not_before}, now {now}")
    if now + trust.skew < claims.issued_at:
        raise NotYetValid(f"issued at {claims.issued_at}, after now {now}")
    if now - trust.skew >= claims.expires:
        raise PassExpired(f"expired at {claims.expires}, now {now}")
