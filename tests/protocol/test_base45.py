"""Base45 against RFC 9285's own examples, its error cases, and a round-trip property."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import base45
from protocol.errors import Base45Error, PassError


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (b"AB", "BB8"),  # RFC 9285 section 4.3
        (b"Hello!!", "%69 VD92EX0"),
        (b"base-45", "UJCLQE7W581"),
        (b"ietf!", "QED8WEX0"),  # section 4.4 (decoding example)
        (b"", ""),
        (b"\x00", "00"),
        (b"\xff\xff", "FGW"),
    ],
)
def test_rfc_examples(raw: bytes, text: str) -> None:
    assert base45.encode(raw) == text
    assert base45.decode(text) == raw


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("GGW", "above 65535"),  # RFC 9285 section 6: 65536 + ... must be rejected
        ("ZZZ", "above 65535"),
        ("A", "dangling"),
        ("ABCD", "dangling"),
        (":;", "not in the Base45 alphabet"),
        ("ab", "not in the Base45 alphabet"),
        ("6D", "above 255"),  # 6 + 13*45 = 591 for a final pair
    ],
)
def test_invalid_input_raises_base45_error(text: str, match: str) -> None:
    with pytest.raises(Base45Error, match=match):
        base45.decode(text)


def test_base45_error_is_a_pass_error_and_a_value_error() -> None:
    assert issubclass(Base45Error, PassError)
    assert issubclass(Base45Error, ValueError)


@settings(max_examples=2000)
@given(st.binary(max_size=512))
def test_round_trip(raw: bytes) -> None:
    text = base45.encode(raw)
    assert set(text) <= set(base45.ALPHABET)
    assert base45.decode(text) == raw


@settings(max_examples=2000)
@given(st.text(max_size=64))
def test_decode_of_any_text_is_canonical_or_raises_base45_error(text: str) -> None:
    try:
        raw = base45.decode(text)
    except Base45Error:
        return
    assert base45.encode(raw) == text  # Base45 has exactly one spelling per byte string
