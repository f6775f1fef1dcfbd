"""Pure codec for the GY-MCU90614/90615 "5A 5A" protocol (hardware-and-deploy.md 1.2).

Host -> module: ``A5 CMD SUM``. Module -> host: ``5A 5A TYPE LEN DATA.. SUM``, frame length
``LEN + 5``, SUM the low byte of the sum of every byte before it. Temperatures are signed
16-bit big-endian hundredths of a degree. The decoder hunts for the header, waits for the whole
frame, drops one byte after a bad sum (0x5A can occur inside data) and discards a partial frame
older than 200 ms. The simulator uses the same module in reverse. No I/O, no clock reads:
callers pass ``now``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

HEADER = b"\x5a\x5a"
TYPE_TEMPERATURE = 0x45
COMMAND_LEAD = 0xA5
PARTIAL_TIMEOUT_S = 0.2
# Larger LEN values are not a frame of ours; refusing them early keeps the buffer small.
MAX_DATA_LEN = 16
# MLX9061x physical ranges (datasheet); anything outside is not a sensor value.
OBJECT_RANGE_C = (-70.0, 380.0)
AMBIENT_RANGE_C = (-40.0, 85.0)
# The int16 limits are what the firmware sends for "no value" (``raw 32767 2510``): never a
# temperature, whatever range a caller would allow.
NO_VALUE_RAW = frozenset({32767, -32768})


class Command(enum.IntEnum):
    """Command bytes of the classic firmware."""

    CONTINUOUS = 0x45
    QUERY = 0x15
    BAUD_9600 = 0xAE
    BAUD_115200 = 0xAF
    AUTOSTART_ON = 0x51
    AUTOSTART_OFF = 0x52


def checksum(data: bytes) -> int:
    """Low byte of the sum of ``data`` (the module's only integrity check)."""
    return sum(data) & 0xFF


def encode_command(command: int) -> bytes:
    """The 3-byte host command ``A5 CMD SUM``."""
    return bytes((COMMAND_LEAD, command, (COMMAND_LEAD + command) & 0xFF))


def encode_frame(object_raw: int, ambient_raw: int, *, frame_type: int = TYPE_TEMPERATURE) -> bytes:
    """A module data frame from signed hundredths (the simulator's side)."""
    body = HEADER + bytes((frame_type, 4))
    body += object_raw.to_bytes(2, "big", signed=True) + ambient_raw.to_bytes(2, "big", signed=True)
    return body + bytes((checksum(body),))


def to_raw(celsius: float) -> int:
    """Degrees to the wire's signed hundredths, clamped to int16 (the simulator's side)."""
    return max(-32768, min(32767, round(celsius * 100)))


@dataclass(frozen=True, slots=True)
class TemperatureFrame:
    """A checksum-valid temperature frame, values in hundredths of a degree."""

    object_raw: int
    ambient_raw: int
    raw: bytes

    @property
    def object_c(self) -> float:
        """Object (skin) temperature in degrees Celsius."""
        return self.object_raw / 100

    @property
    def ambient_c(self) -> float:
        """Ambient (sensor) temperature in degrees Celsius."""
        return self.ambient_raw / 100

    @property
    def fault(self) -> str | None:
        """Why this frame holds no temperature to use, or None: the module's "no value"
        limit, or a value outside the sensor's physical range."""
        if {self.object_raw, self.ambient_raw} & NO_VALUE_RAW:
            return "int16 limit: the module has no value"
        if not OBJECT_RANGE_C[0] <= self.object_c <= OBJECT_RANGE_C[1]:
            return f"object {self.object_c:.2f} C outside {OBJECT_RANGE_C}"
        if not AMBIENT_RANGE_C[0] <= self.ambient_c <= AMBIENT_RANGE_C[1]:
            return f"ambient {self.ambient_c:.2f} C outside {AMBIENT_RANGE_C}"
        return None


@dataclass(frozen=True, slots=True)
class Rejected:
    """Bytes the decoder refused and why (a reason code stable enough to count and show)."""

    reason: str
    raw: bytes


class FrameDecoder:
    """Incremental decoder of module -> host bytes: feed bytes, get frames and rejections."""

    def __init__(self, *, partial_timeout: float = PARTIAL_TIMEOUT_S) -> None:
        self._buf = bytearray()
        self._since = 0.0
        self._partial_timeout = partial_timeout

    def feed(self, data: bytes, now: float) -> list[TemperatureFrame | Rejected]:
        """Add bytes received at ``now`` and return everything that completed, in order."""
        out: list[TemperatureFrame | Rejected] = []
        if self._buf and now - self._since > self._partial_timeout:
            out.append(Rejected("partial_timeout", bytes(self._buf)))
            self._buf.clear()
        held = len(self._buf)
        self._buf += data
        total = len(self._buf)
        while self._step(out):
            pass
        if total - len(self._buf) >= held:
            # What is left (if anything) started in this chunk.
            self._since = now
        return out

    def pending(self) -> int:
        """Bytes held while waiting for the rest of a frame."""
        return len(self._buf)

    def _step(self, out: list[TemperatureFrame | Rejected]) -> bool:
        """Consume one frame or one run of junk; False when more bytes are needed."""
        start = self._buf.find(HEADER)
        if start < 0:
            # Keep a trailing 0x5A: it may be the first half of the next header.
            keep = 1 if self._buf.endswith(HEADER[:1]) else 0
            junk = len(self._buf) - keep
            if junk:
                out.append(Rejected("no_header", bytes(self._buf[:junk])))
                del self._buf[:junk]
            return False
        if start:
            out.append(Rejected("no_header", bytes(self._buf[:start])))
            del self._buf[:start]
        if len(self._buf) < 4:
            return False
        length = self._buf[3]
        if length > MAX_DATA_LEN:
            out.append(Rejected("bad_length", bytes(self._buf[:4])))
            del self._buf[:1]
            return True
        size = length + 5
        if len(self._buf) < size:
            return False
        frame = bytes(self._buf[:size])
        if checksum(frame[:-1]) != frame[-1]:
            out.append(Rejected("bad_checksum", frame))
            del self._buf[:1]
            return True
        del self._buf[:size]
        out.append(_classify(frame))
        return True


def _classify(frame: bytes) -> TemperatureFrame | Rejected:
    """A checksum-valid frame becomes a temperature frame only if it is one (type 0x45, len 4)."""
    if frame[2] != TYPE_TEMPERATURE or frame[3] != 4:
        return Rejected(f"unexpected_type_{frame[2]:02x}_len_{frame[3]}", frame)
    return TemperatureFrame(
        object_raw=int.from_bytes(frame[4:6], "big", signed=True),
        ambient_raw=int.from_bytes(frame[6:8], "big", signed=True),
        raw=frame,
    )


class CommandDecoder:
    """Incremental decoder of host -> module commands (the simulator's side)."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[int | Rejected]:
        """Command bytes that arrived intact; bad sums come back as Rejected (ignored)."""
        self._buf += data
        out: list[int | Rejected] = []
        while True:
            start = self._buf.find(bytes((COMMAND_LEAD,)))
            if start < 0:
                self._buf.clear()
                return out
            del self._buf[:start]
            if len(self._buf) < 3:
                return out
            lead, cmd, total = self._buf[:3]
            if (lead + cmd) & 0xFF == total:
                out.append(cmd)
                del self._buf[:3]
            else:
                out.append(Rejected("bad_checksum", bytes(self._buf[:3])))
                del self._buf[:1]
