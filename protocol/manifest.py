"""The root-signed key manifest: which keys may sign passes, revocation lists and gate control.

A key is trusted if and only if it is on the newest manifest the gate has accepted (the DCC "on
the list = valid" rule). A pass key signs passes issued within [sign_from, sign_until] and is
honoured until verify_until, the latest expiry it signed. Rotation publishes the new key before
first use; compromise publishes a manifest without it. The gate pins only the root public key.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Literal

import msgspec

from protocol.cose import Algorithm, PrivateKey, PublicKey, algorithm_for
from protocol.errors import BadAlgorithm, MalformedMessage, StaleUpdate, WrongSiteMessage
from protocol.keys import kid_for, public_from_raw, raw_public
from protocol.schema import ID_PATTERN, UInt
from protocol.signed import open_sealed, seal

__all__ = [
    "MANIFEST_CAP",
    "KeyEntry",
    "KeyManifest",
    "KeyUse",
    "TrustedKey",
    "accept_manifest",
    "key_entry",
    "key_entry_raw",
    "open_manifest",
    "sign_manifest",
]

MANIFEST_CAP = 16 * 1024


class KeyUse(StrEnum):
    """What a listed key may sign."""

    PASS = "pass"  # noqa: S105 - a key use, not a password
    REVLIST = "revlist"
    CONTROL = "control"  # gate config and commands


class KeyEntry(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One key on the manifest, as it travels."""

    kid: Annotated[bytes, msgspec.Meta(min_length=4, max_length=4)]
    alg: int
    pub: Annotated[bytes, msgspec.Meta(min_length=32, max_length=65)]
    use: KeyUse
    sign_from: UInt
    sign_until: UInt
    verify_until: UInt


class KeyManifest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The signed list of keys for one site; only a higher ``seq`` replaces the current one."""

    schema: Literal[1]
    site: Annotated[str, msgspec.Meta(pattern=ID_PATTERN)]
    seq: UInt
    issued_at: UInt
    keys: Annotated[list[KeyEntry], msgspec.Meta(max_length=64)]


@dataclass(frozen=True, slots=True)
class TrustedKey:
    """A manifest key with its public key object, ready for verification."""

    kid: bytes
    alg: Algorithm
    public: PublicKey
    use: KeyUse
    sign_from: int
    sign_until: int
    verify_until: int


def key_entry(
    key: PublicKey | PrivateKey, use: KeyUse, sign_from: int, sign_until: int, verify_until: int
) -> KeyEntry:
    """Describe a key for the manifest (kid and alg derived from the key itself)."""
    return KeyEntry(
        kid=kid_for(key),
        alg=int(algorithm_for(key)),
        pub=raw_public(key),
        use=use,
        sign_from=sign_from,
        sign_until=sign_until,
        verify_until=verify_until,
    )


def key_entry_raw(
    raw_public_key: bytes, use: KeyUse, sign_from: int, sign_until: int, verify_until: int
) -> KeyEntry:
    """Describe a key stored as raw public bytes (32 Ed25519, 65 P-256); ValueError if neither."""
    return key_entry(public_from_raw(raw_public_key), use, sign_from, sign_until, verify_until)


def sign_manifest(manifest: KeyManifest, root_key: PrivateKey) -> bytes:
    """Sign a manifest with the site's root key."""
    trusted_keys(manifest)  # refuse to publish a manifest a gate would refuse
    return seal(manifest, root_key)


def open_manifest(data: bytes, root_public: PublicKey, *, site: str) -> KeyManifest:
    """Verify a manifest against the pinned root key and check every entry."""
    manifest = open_sealed(data, KeyManifest, {kid_for(root_public): root_public}, cap=MANIFEST_CAP)
    if manifest.site != site:
        raise WrongSiteMessage(f"manifest for site {manifest.site!r}, this is {site!r}")
    trusted_keys(manifest)
    return manifest


def accept_manifest(current: KeyManifest | None, new: KeyManifest) -> KeyManifest:
    """Return ``new`` if it supersedes ``current``; raise StaleUpdate otherwise."""
    if current is not None and new.seq <= current.seq:
        raise StaleUpdate(f"manifest seq {new.seq} is not above the applied {current.seq}")
    return new


def trusted_keys(manifest: KeyManifest) -> dict[bytes, TrustedKey]:
    """Check each entry (kid matches key, alg fits key, windows ordered, kids unique)."""
    out: dict[bytes, TrustedKey] = {}
    for entry in manifest.keys:
        key = _entry_key(entry)
        if entry.kid in out:
            raise MalformedMessage(f"kid {entry.kid.hex()} is listed twice")
        out[entry.kid] = key
    return out


def _entry_key(entry: KeyEntry) -> TrustedKey:
    """Build and check one trusted key from its manifest entry."""
    try:
        public = public_from_raw(entry.pub)
    except ValueError as exc:
        raise MalformedMessage(f"kid {entry.kid.hex()}: {exc}") from None
    if kid_for(public) != entry.kid:
        raise MalformedMessage(f"kid {entry.kid.hex()} is not SHA-256 of its public key")
    try:
        alg = Algorithm(entry.alg)
        expected = algorithm_for(public)
    except (ValueError, BadAlgorithm) as exc:
        raise MalformedMessage(f"kid {entry.kid.hex()}: {exc}") from None
    if alg != expected and {alg, expected} != {Algorithm.ED25519, Algorithm.EDDSA}:
        raise MalformedMessage(f"kid {entry.kid.hex()}: alg {alg.name} does not fit its key")
    if not entry.sign_from <= entry.sign_until <= entry.verify_until:
        raise MalformedMessage(f"kid {entry.kid.hex()}: windows must be ordered")
    return TrustedKey(
        entry.kid,
        alg,
        public,
        entry.use,
        entry.sign_from,
        entry.sign_until,
        entry.verify_until,
    )
