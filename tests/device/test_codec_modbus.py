"""Modbus RTU slave-side codec (the simulator's): every [V]/[M] frame of reference 1.6."""

from __future__ import annotations

import minimalmodbus
import pytest

from device.hardware.codecs import modbus as mb


def h(text: str) -> bytes:
    return bytes.fromhex(text)


@pytest.mark.parametrize(
    "frame",
    [
        "01 03 00 00 00 01 84 0A",
        "01 04 00 00 00 02 71 CB",
        "01 03 00 12 00 01 24 0F",
        "01 03 02 01 6D 78 39",
        "01 04 00 12 00 01 91 CF",
        "01 04 02 01 6D 79 4D",
        "01 03 02 FF 9C F9 DD",
        "01 06 00 18 26 48 13 9B",
        "01 83 02 C0 F1",
    ],
)
def test_crc_reproduces_reference_frames(frame: str) -> None:
    wire = h(frame)
    assert mb.with_crc(wire[:-2]) == wire
    # the driver's library computes the same CRC (private helper, used here only to cross-check)
    assert minimalmodbus._calculate_crc(wire[:-2]) == wire[-2:]


def test_replies_match_reference() -> None:
    assert mb.encode_read_reply(1, 3, [365]) == h("01 03 02 01 6D 78 39")
    assert mb.encode_read_reply(1, 4, [365]) == h("01 04 02 01 6D 79 4D")
    assert mb.encode_read_reply(1, 3, [-100]) == h("01 03 02 FF 9C F9 DD")
    assert mb.encode_exception(1, 3, 2) == h("01 83 02 C0 F1")


def test_take_request_skips_junk_and_bad_crc() -> None:
    buf = bytearray(h("FF 00") + h("01 03 00 12 00 01 24 00") + h("01 03 00 12 00 01 24 0F"))
    assert mb.take_request(buf) == mb.Request(1, 3, 0x12, 1)
    assert buf == bytearray()


def test_write_request() -> None:
    buf = bytearray(h("01 06 00 18 26 48 13 9B"))
    assert mb.take_request(buf) == mb.Request(1, 6, 0x18, 9800)


def test_register_maps_differ_by_vendor() -> None:
    assert mb.REGISTER_MAPS["calex"].filtered == 0x12
    assert mb.REGISTER_MAPS["omega"].filtered == 0x0E
