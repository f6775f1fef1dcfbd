"""COSE_Sign1 (RFC 9052) with an algorithm allow-list: what passes and signed messages ride in.

The verifier takes the algorithm from the *key*, not from the header: the header's alg must be
on the allow-list and fit the key, or the message is refused. The key id must sit in the
protected header; anything in the unprotected header is refused, so nothing unsigned can steer
verification. Signatures are checked before the payload is handed to anyone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from protocol.cbor import CborError, dumps, dumps_tagged, read_item
from protocol.errors import (
    BadAlgorithm,
    BadSignature,
    MalformedPass,
    MissingKeyId,
    UnknownKey,
)

__all__ = [
    "Algorithm",
    "PrivateKey",
    "PublicKey",
    "Sign1",
    "algorithm_for",
    "decode_sign1",
    "sig_structure",
    "sign1",
    "verify1",
    "verify_signature",
]

PublicKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey
PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey

COSE_SIGN1_TAG = 18
HEADER_ALG = 1
HEADER_KID = 4
KID_LENGTH = 4
SIGNATURE_LENGTH = 64


class Algorithm(IntEnum):
    """COSE algorithm identifiers on the allow-list."""

    ED25519 = -19  # RFC 9864 fully specified; what we emit
    EDDSA = -8  # RFC 9053 polymorphic EdDSA; accepted for Ed25519 keys only
    ES256 = -7  # ECDSA P-256 with SHA-256: the fallback for P-256-only key storage


_ED_ALGS = frozenset({Algorithm.ED25519, Algorithm.EDDSA})
# RFC 6979: ES256 signatures need no random source at issuance, like Ed25519.
_ECDSA_DETERMINISTIC = ec.ECDSA(hashes.SHA256(), deterministic_signing=True)


@dataclass(frozen=True, slots=True)
class Sign1:
    """A parsed, not yet verified COSE_Sign1."""

    protected: bytes
    alg: int
    kid: bytes
    payload: bytes
    signature: bytes


def algorithm_for(key: PublicKey | PrivateKey) -> Algorithm:
    """The algorithm a key signs with; P-256 only for EC keys."""
    if isinstance(key, ed25519.Ed25519PublicKey | ed25519.Ed25519PrivateKey):
        return Algorithm.ED25519
    if isinstance(key.curve, ec.SECP256R1):
        return Algorithm.ES256
    raise BadAlgorithm(f"unsupported key type {type(key).__name__} on {key.curve.name}")


def sig_structure(protected: bytes, payload: bytes, external_aad: bytes = b"") -> bytes:
    """The bytes that are signed: ["Signature1", protected, external_aad, payload]."""
    return dumps(["Signature1", protected, external_aad, payload])


def sign1(payload: bytes, private_key: PrivateKey, kid: bytes) -> bytes:
    """Sign ``payload`` into a tagged COSE_Sign1 with {alg, kid} protected and nothing else."""
    if len(kid) != KID_LENGTH:
        raise ValueError(f"kid must be {KID_LENGTH} bytes, got {len(kid)}")
    alg = algorithm_for(private_key)
    protected = dumps({HEADER_ALG: int(alg), HEADER_KID: kid})
    to_sign = sig_structure(protected, payload)
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        signature = private_key.sign(to_sign)
    else:
        r, s = decode_dss_signature(private_key.sign(to_sign, _ECDSA_DETERMINISTIC))
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return dumps_tagged(COSE_SIGN1_TAG, [protected, {}, payload, signature])


def decode_sign1(message: bytes) -> Sign1:
    """Parse a tagged COSE_Sign1 and its protected header; raise a PassError subclass."""
    if not message.startswith(bytes([0xC0 | COSE_SIGN1_TAG])):
        raise MalformedPass("not a CBOR-tagged COSE_Sign1 (tag 18)")
    try:
        body = read_item(message[1:], max_depth=4)
    except CborError as exc:
        raise MalformedPass(str(exc)) from None
    if not (isinstance(body, list) and len(body) == 4):
        raise MalformedPass("COSE_Sign1 must be an array of four items")
    protected, unprotected, payload, signature = body
    if not all(isinstance(x, bytes) for x in (protected, payload, signature)):
        raise MalformedPass("protected header, payload and signature must be byte strings")
    alg, kid = _read_protected(protected)  # raises MissingKeyId if kid is only unprotected
    if unprotected != {}:
        raise MalformedPass("unprotected header must be an empty map (nothing unsigned is used)")
    return Sign1(protected, alg, kid, payload, signature)


def _read_protected(protected: bytes) -> tuple[int, bytes]:
    """Return (alg, kid) from the protected header, refusing anything else in it."""
    try:
        header = read_item(protected, max_depth=2)
    except CborError as exc:
        raise MalformedPass(f"protected header: {exc}") from None
    if not isinstance(header, dict):
        raise MalformedPass("protected header must be a map")
    alg = header.get(HEADER_ALG)
    if not isinstance(alg, int) or isinstance(alg, bool) or alg not in set(Algorithm):
        raise BadAlgorithm(f"algorithm {alg!r} is not on the allow-list")
    kid = header.get(HEADER_KID)
    if kid is None:
        raise MissingKeyId("no key id in the protected header")
    if not isinstance(kid, bytes) or len(kid) != KID_LENGTH:
        raise MalformedPass(f"key id must be {KID_LENGTH} bytes")
    if set(header) != {HEADER_ALG, HEADER_KID}:
        raise MalformedPass(f"unexpected protected header labels {sorted(set(header) - {1, 4})}")
    return alg, kid


def verify_signature(
    key: PublicKey, alg: int, protected: bytes, payload: bytes, signature: bytes
) -> None:
    """Check one signature with ``key``; the key decides the algorithm, ``alg`` must fit it."""
    expected = algorithm_for(key)
    allowed = _ED_ALGS if expected in _ED_ALGS else {expected}
    if alg not in allowed:
        raise BadAlgorithm(f"header alg {alg} does not match the key's algorithm {expected.name}")
    if len(signature) != SIGNATURE_LENGTH:
        raise BadSignature(f"signature is {len(signature)} bytes, expected {SIGNATURE_LENGTH}")
    to_verify = sig_structure(protected, payload)
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, to_verify)
        else:
            der = encode_dss_signature(
                int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
            )
            key.verify(der, to_verify, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise BadSignature("signature does not verify") from None


def verify1(message: bytes, public_keys: Mapping[bytes, PublicKey]) -> bytes:
    """Verify a COSE_Sign1 against keys by kid and return its payload; raise a PassError."""
    parsed = decode_sign1(message)
    key = public_keys.get(parsed.kid)
    if key is None:
        raise UnknownKey(f"no trusted key with kid {parsed.kid.hex()}")
    verify_signature(key, parsed.alg, parsed.protected, parsed.payload, parsed.signature)
    return parsed.payload
