"""Pure codec for Grow GM65/GM805/GM861 scanners and generic line scanners (reference 2.1).

Host -> scanner: ``7E 00 TYPE LENS ADDR_H ADDR_L DATA.. CRC_H CRC_L`` with CRC-16/XMODEM over
TYPE..DATA (``AB CD`` in place of the CRC means "don't check"). Scanner -> host: responses
``02 00 STATUS LENS DATA.. CRC``, a heartbeat reply ``03 00 00 01 00 33 31``, protocol-wrapped
payloads ``03 LEN_H LEN_L payload..``, or raw payloads ended by CR, LF, CRLF, TAB or an idle
gap. The simulator uses the same module in reverse. No I/O, no clock reads.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

COMMAND_HEAD = b"\x7e\x00"
RESPONSE_LEAD = 0x02
WRAPPED_LEAD = 0x03
BYPASS_CRC = b"\xab\xcd"
ACK_OK = b"\x02\x00\x00\x01\x00\x33\x31"
HEARTBEAT_REPLY = b"\x03\x00\x00\x01\x00\x33\x31"
TERMINATORS = b"\r\n\t"
COMMAND_TIMEOUT_S = 0.4  # "more than 400 ms after 7E 00: unknown command"
PARTIAL_TIMEOUT_S = 0.2  # silence after a partial payload: discard it
DEFAULT_MAX_FRAME = 1024


class CommandType(enum.IntEnum):
    """Command TYPE bytes; 0x05 (firmware erase) is deliberately absent."""

    READ = 0x07
    WRITE = 0x08
    SAVE = 0x09
    HEARTBEAT = 0x0A


class Zone(enum.IntEnum):
    """Zone-bit addresses the gate reads and writes."""

    SETTINGS = 0x0000  # LED, beep, aim, light, mode bits 1-0
    TRIGGER = 0x0002  # write 1: one scan in command mode
    SAME_CODE_DELAY = 0x0013  # bit 7 enable, bits 6-0 delay in 100 ms
    BAUD = 0x002A  # two bytes, little-endian divisor
    OUTPUT = 0x0060  # bit 7 protocol-wrapped, bits 6-5 tail, bit 0 tail on


MODE_BITS = {"manual": 0b00, "command": 0b01, "continuous": 0b10, "sensor": 0b11}
BAUD_DIVISORS = {
    1200: 0x09C4,
    4800: 0x0271,
    9600: 0x0139,
    14400: 0x00D0,
    19200: 0x009C,
    38400: 0x004E,
    57600: 0x0034,
    115200: 0x001A,
}


def crc16_xmodem(data: bytes) -> int:
    """CRC-16/XMODEM: poly 0x1021, init 0, no reflection, no final XOR."""
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def encode_command(kind: int, address: int, data: bytes) -> bytes:
    """One host command frame with its CRC (sent as a single write)."""
    if not 1 <= len(data) <= 256:
        raise ValueError("a command carries 1 to 256 data bytes")
    body = bytes((kind, len(data) & 0xFF)) + address.to_bytes(2, "big") + data
    return COMMAND_HEAD + body + crc16_xmodem(body).to_bytes(2, "big")


def read_zone(address: int, count: int = 1) -> bytes:
    """Read ``count`` consecutive zone bytes (``count`` 256 is sent as 00)."""
    return encode_command(CommandType.READ, address, bytes((count & 0xFF,)))


def write_zone(address: int, values: bytes) -> bytes:
    """Write consecutive zone bytes (volatile until a save)."""
    return encode_command(CommandType.WRITE, address, values)


def save_zones() -> bytes:
    """Save every zone to flash; send once after all writes, not on every boot."""
    return encode_command(CommandType.SAVE, 0, b"\x00")


def heartbeat() -> bytes:
    """The GM805/GM861 heartbeat command."""
    return encode_command(CommandType.HEARTBEAT, 0, b"\x00")


def trigger_scan() -> bytes:
    """Start one scan in command-trigger mode (zone 0x0002 bit 0)."""
    return write_zone(Zone.TRIGGER, b"\x01")


def encode_response(data: bytes, *, status: int = 0, lead: int = RESPONSE_LEAD) -> bytes:
    """A scanner response frame (the simulator's side)."""
    body = bytes((status, len(data) & 0xFF)) + data
    return bytes((lead, 0)) + body + crc16_xmodem(body).to_bytes(2, "big")


def encode_wrapped(payload: bytes) -> bytes:
    """A protocol-wrapped payload ``03 LEN_H LEN_L payload`` (zone 0x0060 bit 7)."""
    return bytes((WRAPPED_LEAD,)) + len(payload).to_bytes(2, "big") + payload


@dataclass(frozen=True, slots=True)
class Response:
    """A CRC-valid response: status 0 is success; ``data`` is what was read (or ``00``)."""

    status: int
    data: bytes


@dataclass(frozen=True, slots=True)
class HeartbeatReply:
    """The heartbeat answer ``03 00 00 01 00 33 31``."""


@dataclass(frozen=True, slots=True)
class Payload:
    """One scanned code as bytes, before screening; ``wrapped`` if it came protocol-wrapped."""

    data: bytes
    wrapped: bool = False


@dataclass(frozen=True, slots=True)
class Rejected:
    """Bytes the decoder refused and why."""

    reason: str
    raw: bytes


@dataclass(frozen=True, slots=True)
class CommandFrame:
    """A host command as the scanner sees it (the simulator's side)."""

    kind: int
    address: int
    data: bytes
    crc_checked: bool
