"""Strict CBOR: we accept only what we would have produced."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.cbor import CborError, dumps, loads_strict, read_item


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"\xa2\x01\x01\x01\x02", "duplicate key"),
        (b"\x9f\x01\xff", "indefinite-length array"),
        (b"\xc1\x01", "tag 1 (epoch datetime)"),
        (b"\xd8\x23\x63a+b", "tag 35 (regular expression)"),
        (b"\xd9\x03\xe6\x01", "unknown tag 998"),
        (b"\x81" * 100 + b"\x00", "nesting deeper than the limit"),
        (b"\x01\x02", "trailing bytes"),
        (b"\x5b\x7f\xff\xff\xff\xff\xff\xff\xff", "a byte string longer than the input"),
        (b"\x62\xff\xfe", "invalid UTF-8 in a text string"),
        (b"", "empty"),
        (b"\x1c", "reserved additional information"),
    ],
)
def test_refused(data: bytes, why: str) -> None:
    with pytest.raises(CborError):
        read_item(data)


@pytest.mark.parametrize(
    "data",
    [
        b"\x18\x01",
        b"\xf9\x3e\x00\x00",
        b"\xa2\x02\x00\x01\x00",
        b"\xfb\x3f\xf8\x00\x00\x00\x00\x00\x00",
    ],
    ids=["non-minimal int", "trailing", "unsorted map", "float64 that fits in float16"],
)
def test_non_deterministic_encodings_are_refused(data: bytes) -> None:
    with pytest.raises(CborError):
        loads_strict(data)


def test_map_key_order_is_rfc8949_bytewise_for_our_maps() -> None:
    """cbor2's canonical (length-first) order equals RFC 8949 4.2.1 when keys share a major type."""
    encoded = dumps({-65537: 0, 7: 0, 1: 0, 4: 0})
    assert (
        encoded.index(b"\x01")
        < encoded.index(b"\x04")
        < encoded.index(b"\x07")
        < encoded.index(b"\x3a")
    )
    assert dumps({"seq": 0, "keys": 0, "issued_at": 0}) == dumps(
        {"issued_at": 0, "keys": 0, "seq": 0}
    )


@settings(max_examples=1500)
@given(st.binary(max_size=64))
def test_random_bytes_decode_or_raise_cbor_error(data: bytes) -> None:
    try:
        value = loads_strict(data)
    except CborError:
        return
    assert dumps(value) == data


values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**64), 2**64 - 1)
    | st.binary(max_size=8)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.integers(0, 1000), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=1000)
@given(values)
def test_deterministic_round_trip(value: object) -> None:
    assert loads_strict(dumps(value)) == value
