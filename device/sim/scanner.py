"""A Grow GM65/GM805/GM861 scanner (or a plain line scanner) on a pty, through the same codec.

Zone bits come from a per-model table; reads, writes (volatile) and saves (flash) behave as the
manual says; a wrong CRC gets no reply at all, ``AB CD`` bypasses the check; a partial command
is dropped after 400 ms. Mode bits pick manual / command-triggered / continuous / sensor; in
continuous mode a code in view is re-read every 150 ms, subject to the same-code delay of zone
0x0013; output is framed by zone 0x0060 (raw + CR/CRLF/TAB/none, or protocol-wrapped).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from device.hardware.codecs import scanner as grow
from device.hardware.codecs.scanner_stream import CommandDecoder
from device.sim.base import SimError, Simulator, flag
from device.sim.pty import PtyPort

# Factory zone tables: only what differs from 00. The tails differ on purpose (the driver
# must not depend on one): GM65 CR, GM805 none, GM861 CRLF.
MODEL_ZONES: dict[str, dict[int, int]] = {
    "grow-gm65": {0x00: 0xD4, 0x13: 0x85, 0x2A: 0x39, 0x2B: 0x01, 0x2C: 0x02, 0x60: 0x01},
    "grow-gm805": {0x00: 0xD6, 0x13: 0x8A, 0x2A: 0x39, 0x2B: 0x01, 0x2C: 0x02, 0x60: 0x60},
    "grow-gm861": {0x00: 0xD6, 0x13: 0x00, 0x2A: 0x39, 0x2B: 0x01, 0x2C: 0x02, 0x60: 0x21},
}
HEARTBEAT_MODELS = {"grow-gm805", "grow-gm861"}
READ_INTERVAL_S = 0.15
SINGLE_READ_TIMEOUT_S = 5.0  # the module's default single-read timeout
TAILS = {0b00: b"\r", 0b01: b"\r\n", 0b10: b"\t", 0b11: b""}
BAUDS = {divisor: baud for baud, divisor in grow.BAUD_DIVISORS.items()}


class ScannerSim(Simulator):
    """One simulated scanner; ``line`` is a scanner with no command channel (CR-terminated)."""

    def __init__(
        self, model: str = "grow-gm65", *, baud: int = 9600, link: Path | None = None, **kwargs: Any
    ) -> None:
        if model not in (*MODEL_ZONES, "line"):
            raise SimError(f"unknown scanner model {model!r}")
        super().__init__(link=link, **kwargs)
        self.model = model
        self.flash = bytearray(256)
        for address, value in MODEL_ZONES.get(model, {}).items():
            self.flash[address] = value
        self.flash[0x2A:0x2C] = grow.BAUD_DIVISORS[baud].to_bytes(2, "little")
        self.zones = bytearray(self.flash)
        self.in_view: bytes | None = None
        self.view_until = 0.0
        self.corrupt = 0
        self.glue = False
        self.saves = 0
        self.written: list[int] = []
        self.outputs = 0
        self._decoder = CommandDecoder()
        self._pending_ack = b""
        self._last_code: bytes | None = None
        self._last_out = 0.0
        self._next_read = 0.0
        self._triggered = False
        self._trigger_until = 0.0

    @property
    def baud(self) -> int:
        """The baud set by zones 0x2A-0x2B."""
        return BAUDS.get(int.from_bytes(self.zones[0x2A:0x2C], "little"), 9600)

    @property
    def mode(self) -> int:
        """Mode bits of zone 0x0000: 0 manual, 1 command, 2 continuous, 3 sensor."""
        return self.zones[0] & 0b11 if self.model != "line" else 2

    def power_on(self) -> None:
        """Volatile zones are reloaded from flash."""
        self.zones = bytearray(self.flash)
        self._decoder = CommandDecoder()

    def tick(self, port: PtyPort, data: bytes, now: float) -> None:
        """Answer commands, then read the code in view when the mode says so."""
        matched = port.host_baud() == self.baud
        if data and matched and self.model != "line":
            for item in self._decoder.feed(data, now):
                if isinstance(item, grow.CommandFrame):
                    self._on_command(port, item, now)
        if self.in_view is not None and now > self.view_until:
            self.in_view = None
        reading = self._triggered or self.mode in (2, 3)
        if self.in_view is not None and reading and now >= self._next_read:
            self._next_read = now + READ_INTERVAL_S
            self._read_code(port, self.in_view, now, matched)
        if self._triggered and now > self._trigger_until:
            self._triggered = False  # the single-read timeout passed with nothing decoded
        if self._pending_ack and not (self._triggered and self.in_view is not None):
            if matched:
                self.send(port, self._pending_ack)
            self._pending_ack = b""

    def _on_command(self, port: PtyPort, frame: grow.CommandFrame, now: float) -> None:
        kind, address, data = frame.kind, frame.address, frame.data
        if kind == grow.CommandType.READ and address < 256:
            count = data[0] or 256
            self._reply(port, bytes(self.zones[address : address + count]))
        elif kind == grow.CommandType.WRITE and address + len(data) <= 256:
            self._write(port, address, data, now)
        elif kind == grow.CommandType.SAVE:
            self.flash[:] = self.zones
            self.saves += 1
            self._reply(port, b"\x00")
        elif kind == grow.CommandType.HEARTBEAT and self.model in HEARTBEAT_MODELS:
            self.send(port, grow.HEARTBEAT_REPLY)

    def _write(self, port: PtyPort, address: int, data: bytes, now: float) -> None:
        if address == grow.Zone.TRIGGER and data[:1] == b"\x01" and self.mode == 1:
            self._triggered = True
            self._trigger_until = now + SINGLE_READ_TIMEOUT_S
            self._next_read = now + 0.02
        elif address == 0xD9 and data[:1] == b"\x55":  # restore user defaults
            self.zones[:] = self.flash
        else:
            self.zones[address : address + len(data)] = data
            self.written.append(address)
        ack = self._response(b"\x00")
        if self.glue and self._triggered:
            self._pending_ack = ack  # sent glued to the code in the same write
        else:
            self.send(port, ack)

    def _response(self, data: bytes) -> bytes:
        frame = bytearray(grow.encode_response(data))
        if self.corrupt:
            self.corrupt -= 1
            frame[-1] ^= 0xFF
        return bytes(frame)

    def _reply(self, port: PtyPort, data: bytes) -> None:
        self.send(port, self._response(data))

    def _read_code(self, port: PtyPort, code: bytes, now: float, matched: bool) -> None:
        delay = self.zones[0x13]
        if delay & 0x80 and code == self._last_code and now - self._last_out < (delay & 0x7F) / 10:
            return
        self._triggered = False
        self._last_code, self._last_out = code, now
        out = self._pending_ack + self.framed(code)
        self._pending_ack = b""
        if matched:
            self.send(port, out)
            self.outputs += 1

    def framed(self, code: bytes) -> bytes:
        """``code`` as zone 0x0060 says to send it."""
        if self.model == "line":
            return code + b"\r\n"
        output = self.zones[0x60]
        if output & 0x80:
            return grow.encode_wrapped(code)
        return code + (TAILS[(output >> 5) & 0b11] if output & 1 else b"")

    # --- commands -----------------------------------------------------------------------

    def cmd_present(self, text: str, seconds: str = "1.0") -> str:
        """Hold a code in front of the scanner for SECONDS (read as the mode says)."""
        self.in_view = text.encode()
        self.view_until = time.monotonic() + float(seconds)
        self._next_read = 0.0
        return f"presenting {len(self.in_view)} bytes for {seconds} s"

    def cmd_remove(self) -> str:
        """Take the code away."""
        self.in_view = None
        return "removed"

    def cmd_send(self, text: str) -> str:
        """Output TEXT once now, framed as configured, whatever the mode.

        Answers with the monotonic time right after the last byte was written (CLOCK_MONOTONIC
        is shared by every process on the host), so a benchmark in another process can time
        from that moment."""
        if self.port is not None:
            self.send(self.port, self.framed(text.encode()))
        return f"sent at {time.monotonic():.6f}"

    def cmd_bytes(self, hexdigits: str) -> str:
        """Output raw bytes given in hex (garbage, NUL, 0xFF, escape sequences)."""
        if self.port is not None:
            self.send(self.port, bytes.fromhex(hexdigits))
        return "sent"

    def cmd_corrupt(self, count: str = "1") -> str:
        """The next COUNT responses carry a wrong CRC."""
        self.corrupt = int(count)
        return f"corrupt {count}"

    def cmd_glue(self, value: str = "on") -> str:
        """Send the trigger ACK glued to the code in one write."""
        self.glue = flag(value)
        return f"glue {value}"

    def cmd_zone(self, address: str, value: str | None = None) -> str:
        """Show (or set, volatile) a zone byte: ``zone 0x13`` / ``zone 0x13 0x85``."""
        addr = int(address, 0)
        if not 0 <= addr < 256:
            raise SimError("zone address must be 0x00-0xFF")
        if value is not None:
            self.zones[addr] = int(value, 0) & 0xFF
        return f"{addr:04x}={self.zones[addr]:02X}"

    def cmd_status(self) -> str:
        """The simulator's state as JSON."""
        port = self.port
        return json.dumps(
            {
                "model": self.model,
                "pty": None if port is None or port.closed else port.path,
                "baud": self.baud,
                "mode": self.mode,
                "zones": {f"{a:04x}": f"{self.zones[a]:02X}" for a in (0x00, 0x13, 0x60)},
                "saves": self.saves,
                "outputs": self.outputs,
                "dead": self.dead,
            }
        )
