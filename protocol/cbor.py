"""Deterministic CBOR out, strict CBOR in: the only place the protocol touches cbor2.

Everything we sign is encoded deterministically (RFC 8949 section 4.2). On the way in we accept
only what we would have produced: no tags, no indefinite lengths, no duplicate keys, no trailing
bytes, bounded nesting, and the bytes must re-encode to themselves. That one rule turns away
duplicate keys, non-minimal integers and floats, and unsorted maps without listing them.
"""

from __future__ import annotations

import io
from typing import Any

import cbor2

__all__ = ["CborError", "dumps", "dumps_tagged", "loads_strict", "read_item"]

MAX_DEPTH = 16
# Tags cbor2 would otherwise decode into Python objects (datetimes, regexes, sets, ...).
_SEMANTIC_TAGS = (0, 1, 2, 3, 4, 5, 21, 22, 23, 24, 25, 28, 29, 30, 32, 33, 34, 35, 36, 37)
_MORE_TAGS = (100, 256, 258, 260, 261, 262, 263, 264, 1001, 1002, 1003, 1004, 55799)


class CborError(ValueError):
    """Raised for any CBOR input we refuse; callers convert it to their own error class."""


def _refuse_tag(decoder: object, tag: object = None) -> Any:
    raise cbor2.CBORDecodeError("tags are not allowed here")


_REFUSE = dict.fromkeys(_SEMANTIC_TAGS + _MORE_TAGS, _refuse_tag)


def dumps(value: Any) -> bytes:
    """Encode deterministically: shortest forms, definite lengths, map keys in canonical order."""
    return cbor2.dumps(value, canonical=True)


def dumps_tagged(tag: int, value: Any) -> bytes:
    """Encode ``value`` deterministically under one CBOR tag (COSE_Sign1 is tag 18)."""
    return dumps(cbor2.CBORTag(tag, value))


def read_item(data: bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """Decode exactly one untagged item that fills ``data``, with the structural limits above."""
    stream = io.BytesIO(data)
    decoder = cbor2.CBORDecoder(
        stream,
        tag_hook=_refuse_tag,
        semantic_decoders=_REFUSE,
        max_depth=max_depth,
        allow_indefinite=False,
        allow_duplicate_keys=False,
    )
    try:
        value = decoder.decode()
    except (cbor2.CBORDecodeError, RecursionError, MemoryError, OverflowError) as exc:
        raise CborError(f"not well-formed CBOR: {exc}") from None
    except ValueError as exc:  # cbor2 reports some malformed lengths and UTF-8 this way
        raise CborError(f"not well-formed CBOR: {exc}") from None
    if stream.tell() != len(data):
        raise CborError(f"{len(data) - stream.tell()} trailing bytes after the CBOR item")
    return value


def loads_strict(data: bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """Decode one item and require that it is in deterministic encoding."""
    value = read_item(data, max_depth=max_depth)
    if dumps(value) != data:
        raise CborError("not in deterministic encoding (RFC 8949 section 4.2)")
    return value
