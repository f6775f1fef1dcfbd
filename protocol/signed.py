"""Signed server-to-gate messages: COSE_Sign1 over deterministic CBOR of a typed model.

The manifest, revocation lists, gate config and commands all travel this way, so a broker or
anyone who can publish cannot forge them: a gate opens a message only with a key it trusts for
that use, verifies before it decodes, and refuses anything oversize, malformed or off-schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import msgspec

from protocol.cbor import CborError, dumps, loads_strict
from protocol.cose import PrivateKey, PublicKey, sign1, verify1
from protocol.errors import MalformedMessage, PassError, PayloadTooLarge, UntrustedMessage
from protocol.keys import kid_for
from protocol.schema import convert

__all__ = ["open_sealed", "seal"]

T = TypeVar("T", bound=msgspec.Struct)


def seal(message: msgspec.Struct, private_key: PrivateKey, *, int_keys: bool = False) -> bytes:
    """Sign a model; with ``int_keys`` its top-level field names ("1", "2", ...) become integers."""
    body: dict[str, Any] = msgspec.to_builtins(message, builtin_types=(bytes,))
    payload = dumps({int(k): v for k, v in body.items()} if int_keys else body)
    return sign1(payload, private_key, kid_for(private_key))


def open_sealed(
    data: bytes,
    model: type[T],
    keys: Mapping[bytes, PublicKey],
    *,
    cap: int,
    int_keys: bool = False,
) -> T:
    """Verify ``data`` with ``keys``, then decode it strictly into ``model``."""
    if len(data) > cap:
        raise PayloadTooLarge(f"signed message of {len(data)} bytes exceeds the {cap}-byte cap")
    try:
        payload = verify1(data, keys)
    except PassError as exc:
        raise UntrustedMessage(f"{type(exc).__name__}: {exc}") from None
    try:
        raw = loads_strict(payload, max_depth=6)
    except CborError as exc:
        raise MalformedMessage(str(exc)) from None
    if not isinstance(raw, dict):
        raise MalformedMessage("signed payload must be a map")
    if int_keys:
        raw = _int_keys_to_str(raw)
    return convert(raw, model)


def _int_keys_to_str(raw: dict[Any, Any]) -> dict[str, Any]:
    """Integer-keyed wire maps are validated by structs whose fields are renamed to digits."""
    if not all(isinstance(k, int) and not isinstance(k, bool) for k in raw):
        raise MalformedMessage("map keys must be integers")
    return {str(k): v for k, v in raw.items()}
