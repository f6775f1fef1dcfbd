"""Modbus RTU IR transmitters: register maps and the slave side of the framing (pure).

The driver (``drivers/modbus.py``) talks through minimalmodbus, a well-kept single-file
library, and does no framing of its own. This module serves the simulator, which must answer
as a transmitter: CRC-16/Modbus (poly 0xA001 reflected, init 0xFFFF, low byte first), read
holding/input registers (03/04), write single register (06), exception replies. Register maps
differ between vendors, so both sides are driven by a ``RegisterMap`` table (reference 1.6).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RegisterMap:
    """Where one vendor keeps its values; temperatures are signed tenths of a degree."""

    filtered: int  # object temperature, filtered
    sensor: int  # the sensor's own (housing) temperature: used as ambient
    status: int  # b0 measurement error, b1/b2 sensor too cold/hot, b3/b4 object too cold/hot
    emissivity: int  # volatile emissivity register, 1 LSB = 0.0001


REGISTER_MAPS = {
    "calex": RegisterMap(filtered=0x12, sensor=0x14, status=0x15, emissivity=0x18),
    "omega": RegisterMap(filtered=0x0E, sensor=0x10, status=0x11, emissivity=0x17),
}
STATUS_ERROR_BITS = 0b11111
READ_FUNCTIONS = (0x03, 0x04)
WRITE_SINGLE = 0x06


def crc16_modbus(data: bytes) -> bytes:
    """CRC-16/Modbus of ``data``, as the two bytes sent on the wire (low byte first)."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc.to_bytes(2, "little")


def with_crc(body: bytes) -> bytes:
    """``body`` followed by its CRC."""
    return body + crc16_modbus(body)


@dataclass(frozen=True, slots=True)
class Request:
    """A request addressed to a slave: function, register address and count (or value)."""

    slave: int
    function: int
    address: int
    value: int


def take_request(buf: bytearray) -> Request | None:
    """Remove and return the first complete, CRC-valid 8-byte request; drop junk before it."""
    while len(buf) >= 8:
        frame = bytes(buf[:8])
        if frame[1] in (*READ_FUNCTIONS, WRITE_SINGLE) and crc16_modbus(frame[:6]) == frame[6:]:
            del buf[:8]
            return Request(
                frame[0], frame[1], int.from_bytes(frame[2:4]), int.from_bytes(frame[4:6])
            )
        del buf[:1]
    return None


def encode_read_reply(slave: int, function: int, values: list[int]) -> bytes:
    """A reply to 03/04 carrying signed 16-bit ``values``."""
    data = b"".join(v.to_bytes(2, "big", signed=v < 0) for v in values)
    return with_crc(bytes((slave, function, len(data))) + data)


def encode_exception(slave: int, function: int, code: int) -> bytes:
    """An exception reply (function | 0x80, code): 01 bad function, 02 bad address."""
    return with_crc(bytes((slave, function | 0x80, code)))


def to_tenths(celsius: float) -> int:
    """Degrees to the wire's signed tenths, clamped to int16."""
    return max(-32768, min(32767, round(celsius * 10)))
