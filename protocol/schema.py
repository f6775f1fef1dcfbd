"""Strict conversion of decoded JSON or CBOR into typed models, with one error per failure class.

msgspec does the checking (no coercion, unknown fields refused, ranges via Meta); this module only
translates its single ValidationError into the specific MessageError subclasses callers handle.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

import msgspec

from protocol.errors import (
    MalformedMessage,
    MessageError,
    OutOfRange,
    PayloadTooLarge,
    UnknownField,
    UnsupportedVersion,
    WrongType,
)

__all__ = [
    "Id",
    "Ms",
    "UInt",
    "classify",
    "convert",
    "decode_json",
    "encode_json",
]

T = TypeVar("T")

ID_PATTERN = r"\A[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?\Z"
# Display text: no control characters (log injection) or bidi overrides (spoofing).
PRINTABLE_PATTERN = r"\A[^\x00-\x1f\x7f\u2028\u2029\u202a-\u202e\u2066-\u2069]*\Z"
Id = Annotated[str, msgspec.Meta(pattern=ID_PATTERN)]
UInt = Annotated[int, msgspec.Meta(ge=0, le=2**53)]
# Unix time in milliseconds; the upper bound (year 2286) keeps values exact in JSON doubles.
Ms = Annotated[int, msgspec.Meta(ge=0, le=10**13)]

_JSON_ENCODER = msgspec.json.Encoder(order="sorted")


def classify(exc: msgspec.ValidationError) -> MessageError:
    """Map msgspec's message onto our error tree (the wording is pinned by tests)."""
    text = str(exc)
    if text.endswith("at `$.schema`"):
        return UnsupportedVersion(text)
    if "unknown field" in text:
        return UnknownField(text)
    if "out of range" in text or any(op in text for op in (">=", "<=", " > ", " < ")):
        return OutOfRange(text)
    if "length" in text or "matching regex" in text:
        return OutOfRange(text)
    return WrongType(text)


def convert(obj: Any, model: type[T]) -> T:
    """Validate an already decoded object (from CBOR) against ``model`` without coercion."""
    try:
        return msgspec.convert(obj, model, strict=True)
    except msgspec.ValidationError as exc:
        raise classify(exc) from None


def decode_json(payload: bytes, model: type[T], *, cap: int) -> T:
    """Decode a JSON payload into ``model``; refuse oversize, malformed or invalid input."""
    if len(payload) > cap:
        raise PayloadTooLarge(f"payload of {len(payload)} bytes exceeds the {cap}-byte cap")
    try:
        return msgspec.json.decode(payload, type=model)
    except msgspec.ValidationError as exc:
        raise classify(exc) from None
    except msgspec.DecodeError as exc:
        raise MalformedMessage(f"not valid JSON: {exc}") from None


def encode_json(value: Any) -> bytes:
    """Encode a model as compact JSON with sorted keys (stable bytes for logs and tests)."""
    return _JSON_ENCODER.encode(value)
