"""Describe a pass without trusting it: for installers and support staff at a gate.

Everything here is read from an *unverified* pass and labelled so; only ``signature`` says
whether the bytes check against a key the caller supplied.
"""

from __future__ import annotations

from typing import Any

from protocol.cbor import CborError, read_item
from protocol.claims import PassClaims, decode_claims
from protocol.cose import Algorithm, PublicKey, decode_sign1, verify_signature
from protocol.errors import PassError
from protocol.keys import kid_for
from protocol.passes import PREFIX, unwrap

__all__ = ["describe"]


def describe(text: str, key: PublicKey | None = None) -> dict[str, Any]:
    """A JSON-ready description of a pass: header, claims, and a signature check if keyed."""
    out: dict[str, Any] = {"trusted": False, "chars": len(text), "prefix": text[: len(PREFIX)]}
    try:
        message = decode_sign1(unwrap(text))
    except PassError as exc:
        return out | {"error": _error(exc)}
    out["bytes"] = len(message.protected) + len(message.payload) + len(message.signature)
    out["header"] = {"alg": _alg_name(message.alg), "kid": message.kid.hex()}
    try:
        out["claims"] = claims_json(decode_claims(message.payload))
    except PassError as exc:
        out["claims_error"] = _error(exc)
        out["claims_raw"] = _raw(message.payload)
    if key is not None:
        out["signature"] = _check(key, message.alg, message)
    return out


def claims_json(claims: PassClaims) -> dict[str, Any]:
    """Claims as plain JSON values (bytes as hex)."""
    return {
        "site": claims.site,
        "pass_id": claims.pass_id.hex(),
        "ref": claims.ref,
        "kind": claims.kind.name.lower(),
        "issued_at": claims.issued_at,
        "not_before": claims.not_before,
        "expires": claims.expires,
        "zones": list(claims.zones),
        "household": claims.household,
        "unit": claims.unit,
        "name": claims.name,
        "phone_tag": claims.phone_tag.hex() if claims.phone_tag else None,
        "phone_key_version": claims.phone_key_version,
        "host": claims.host,
        "uses": claims.uses,
        "time_windows": [list(w) for w in claims.time_windows],
        "schema": claims.schema,
    }


def _check(key: PublicKey, alg: int, message: Any) -> dict[str, Any]:
    result: dict[str, Any] = {"key_kid": kid_for(key).hex()}
    if kid_for(key) != message.kid:
        return result | {"valid": False, "error": "the key's kid differs from the pass's kid"}
    try:
        verify_signature(key, alg, message.protected, message.payload, message.signature)
    except PassError as exc:
        return result | {"valid": False, "error": _error(exc)}
    return result | {"valid": True}


def _alg_name(alg: int) -> str:
    try:
        return Algorithm(alg).name
    except ValueError:
        return str(alg)


def _error(exc: PassError) -> dict[str, str]:
    return {"class": type(exc).__name__, "reason": exc.reason.value, "detail": str(exc)}


def _raw(payload: bytes) -> Any:
    """Best-effort JSON view of claims that failed the schema (bytes as hex)."""
    try:
        return _jsonable(read_item(payload, max_depth=8))
    except CborError as exc:
        return f"undecodable: {exc}"


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value
