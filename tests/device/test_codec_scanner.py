"""Grow scanner codec: every [V]/[D] example frame of the reference, framing, screening, fuzzing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from device.hardware.codecs import scanner as grow
from device.hardware.codecs.scanner_stream import CommandDecoder, OutputDecoder
from device.hardware.scan_filter import Debouncer, screen_payload


def h(text: str) -> bytes:
    return bytes.fromhex(text)


# Host -> scanner frames of reference 2.1.4, built by the encoder (CRC recomputed each time).
HOST_FRAMES = [
    ("7E 00 07 01 00 0A 01 EE 8A", grow.read_zone(0x000A)),
    ("7E 00 08 01 00 0A 3E 4C CF", grow.write_zone(0x000A, b"\x3e")),
    ("7E 00 09 01 00 00 00 DE C8", grow.save_zones()),
    ("7E 00 08 01 00 02 01 02 DA", grow.trigger_scan()),
    ("7E 00 08 01 00 00 D5 EF 41", grow.write_zone(0x0000, b"\xd5")),
    ("7E 00 08 01 00 00 D6 DF 22", grow.write_zone(0x0000, b"\xd6")),
    ("7E 00 08 01 00 13 85 E3 94", grow.write_zone(0x0013, b"\x85")),
    ("7E 00 08 02 00 2A 39 01 A7 EA", grow.write_zone(0x002A, b"\x39\x01")),
    ("7E 00 07 01 00 2A 02 D8 0F", grow.read_zone(0x002A, 2)),
    ("7E 00 08 01 00 60 E0 82 9D", grow.write_zone(0x0060, b"\xe0")),
    ("7E 00 08 01 00 D9 55 D1 76", grow.write_zone(0x00D9, b"\x55")),
    ("7E 00 08 01 00 D9 A5 3E 69", grow.write_zone(0x00D9, b"\xa5")),
    ("7E 00 08 01 00 D9 00 DB 26", grow.write_zone(0x00D9, b"\x00")),
    ("7E 00 0A 01 00 00 00 30 1A", grow.heartbeat()),
]


@pytest.mark.parametrize(("wire", "built"), HOST_FRAMES)
def test_host_frames_match_the_reference(wire: str, built: bytes) -> None:
    assert built == h(wire)
    (frame,) = CommandDecoder().feed(h(wire), 0.0)
    assert isinstance(frame, grow.CommandFrame)
    assert frame.crc_checked


@pytest.mark.parametrize("wire", ["7E 00 08 01 00 02 01 AB CD", "7E 00 07 01 00 13 01 AB CD"])
def test_abcd_bypasses_the_crc(wire: str) -> None:
    (frame,) = CommandDecoder().feed(h(wire), 0.0)
    assert isinstance(frame, grow.CommandFrame)
    assert not frame.crc_checked


def test_write_with_bad_crc_is_refused() -> None:
    (item,) = CommandDecoder().feed(h("7E 00 08 01 00 0A 3E 11 22"), 0.0)
    assert item == grow.Rejected("bad_crc", h("7E 00 08 01 00 0A 3E 11 22"))


def test_partial_command_is_dropped_after_400_ms() -> None:
    dec = CommandDecoder()
    assert dec.feed(h("7E 00 08 01"), 0.0) == []
    out = dec.feed(h("7E 00 09 01 00 00 00 DE C8"), 0.5)
    assert out[0] == grow.Rejected("command_timeout", h("7E 00 08 01"))
    assert isinstance(out[1], grow.CommandFrame)


@pytest.mark.parametrize(
    ("wire", "data"),
    [("02 00 00 01 3E E4 AC", b"\x3e"), ("02 00 00 01 00 33 31", b"\x00")],
)
def test_reference_responses(wire: str, data: bytes) -> None:
    assert OutputDecoder().feed(h(wire), 0.0) == [grow.Response(0, data)]
    assert grow.encode_response(data) == h(wire)


def test_heartbeat_reply_either_lead() -> None:
    out = OutputDecoder().feed(h("03 00 00 01 00 33 31 02 00 00 01 00 33 31"), 0.0)
    assert out == [grow.HeartbeatReply(), grow.Response(0, b"\x00")]


def test_response_with_bad_crc_is_rejected() -> None:
    (item,) = OutputDecoder().feed(h("02 00 00 01 3E E4 AD"), 0.0)
    assert isinstance(item, grow.Rejected)
    assert item.reason == "bad_crc"


def test_protocol_wrapped_payload() -> None:
    wire = h("03 00 07 50 41 53 53 31 32 33")
    assert grow.encode_wrapped(b"PASS123") == wire
    assert OutputDecoder().feed(wire, 0.0) == [grow.Payload(b"PASS123", wrapped=True)]


@pytest.mark.parametrize("tail", [b"\r", b"\n", b"\r\n", b"\t"])
def test_each_terminator_frames_a_payload(tail: bytes) -> None:
    out = OutputDecoder().feed(b"PG1:AB" + tail + b"PG1:CD" + tail, 0.0)
    assert out == [grow.Payload(b"PG1:AB"), grow.Payload(b"PG1:CD")]


def test_empty_frames_are_ignored() -> None:
    assert OutputDecoder().feed(b"\r\n\r\n\r\r\n\n", 0.0) == []


def test_ack_glued_to_payload_is_filtered_out() -> None:
    out = OutputDecoder().feed(h("02 00 00 01 00 33 31") + b"PASS123\r", 0.0)
    assert out == [grow.Response(0, b"\x00"), grow.Payload(b"PASS123")]


def test_payload_split_over_reads() -> None:
    dec = OutputDecoder()
    assert dec.feed(b"PG1:", 0.0) == []
    assert dec.feed(b"ABC", 0.01) == []
    assert dec.feed(b"\r", 0.02) == [grow.Payload(b"PG1:ABC")]


def test_idle_gap_frames_a_payload_without_terminator() -> None:
    dec = OutputDecoder(binary_frames=False, idle_gap=0.05)
    assert dec.feed(b"PG1:ABC", 0.0) == []
    assert dec.feed(b"", 0.1) == [grow.Payload(b"PG1:ABC")]


def test_partial_payload_then_silence_is_discarded() -> None:
    dec = OutputDecoder()
    assert dec.feed(b"PG1:AB", 0.0) == []
    assert dec.feed(b"", 0.5) == [grow.Rejected("partial_timeout", b"PG1:AB")]
    assert dec.feed(b"NEXT\r", 0.6) == [grow.Payload(b"NEXT")]


def test_endless_stream_is_discarded_at_the_cap_and_resyncs() -> None:
    dec = OutputDecoder(max_frame=100)
    out = dec.feed(b"A" * 5000, 0.0)
    assert [i.reason for i in out if isinstance(i, grow.Rejected)] == ["too_long"]
    assert dec.feed(b"more\rOK\r", 0.01) == [grow.Payload(b"OK")]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"PG1:\x00AB", "not_printable_ascii"),
        (b"PG1:\xffAB", "not_printable_ascii"),
        (b"\x1b[2J\x1b[31mPG1", "not_printable_ascii"),
        ("PG1:\uff21\uff22".encode(), "not_printable_ascii"),  # full-width look-alikes
        (b"\xc3\x28", "not_printable_ascii"),  # not UTF-8
        (b"A" * 1025, "too_long"),
        (b"", "empty"),
    ],
)
def test_screening_refuses_before_decoding(data: bytes, reason: str) -> None:
    assert screen_payload(data) == (reason, len(data))


def test_screening_passes_printable_ascii() -> None:
    assert screen_payload(b"PG1:6BFOXN*TS0BI$ZD.P9") == "PG1:6BFOXN*TS0BI$ZD.P9"


def test_debounce_window_restarts_on_every_sighting() -> None:
    deb = Debouncer(window=1.5)
    assert deb.is_new("A", 0.0)
    assert not deb.is_new("A", 1.0)
    assert not deb.is_new("A", 2.0)  # held: 1.0 s after the last sighting
    assert deb.is_new("B", 2.1)
    assert deb.is_new("A", 3.6)


@settings(max_examples=2500, deadline=None)
@given(st.binary(max_size=300), st.lists(st.integers(1, 40), max_size=10), st.booleans())
def test_fuzz_output_decoder_never_raises_or_accepts_a_false_frame(
    data: bytes, cuts: list[int], binary: bool
) -> None:
    dec = OutputDecoder(binary_frames=binary, max_frame=128)
    now, pos = 0.0, 0
    for cut in [*cuts, len(data)]:
        for item in dec.feed(data[pos : pos + cut], now):
            if isinstance(item, grow.Payload):
                assert item.data
                assert len(item.data) <= 128
                assert item.data in data
                assert not item.wrapped
                assert not any(t in item.data for t in b"\r\n\t")
                continue
            assert binary or not isinstance(item, grow.Response | grow.HeartbeatReply)
            if isinstance(item, grow.Response):
                body = bytes((item.status, len(item.data) & 0xFF)) + item.data
                assert grow.encode_response(item.data, status=item.status) in data
                assert grow.crc16_xmodem(body) >= 0
        pos += cut
        now += 0.3


@settings(max_examples=1500, deadline=None)
@given(
    st.lists(st.binary(min_size=1, max_size=60).map(lambda b: bytes(x % 95 + 32 for x in b))),
    st.integers(1, 17),
)
def test_fuzz_payloads_between_acks_all_recovered(payloads: list[bytes], chunk: int) -> None:
    wire = b"".join(grow.ACK_OK + p + b"\r\n" for p in payloads)
    dec = OutputDecoder()
    got: list[bytes] = []
    for i in range(0, len(wire), chunk):
        got += [x.data for x in dec.feed(wire[i : i + chunk], 0.0) if isinstance(x, grow.Payload)]
    assert got == payloads


@settings(max_examples=1000, deadline=None)
@given(st.binary(max_size=120))
def test_fuzz_command_decoder(data: bytes) -> None:
    for item in CommandDecoder().feed(data, 0.0):
        if isinstance(item, grow.CommandFrame) and item.crc_checked:
            assert grow.encode_command(item.kind, item.address, item.data) in data
