"""QR scanner drivers: the Grow GM65/GM805/GM861 family and generic line-mode scanners.

Grow, at every (re)open: find the baud with a zone read, read zones 0x0000, 0x0013 and 0x0060,
write only the ones that differ from the configured profile, save once if anything was written
and read back to verify. Then read payloads, and send a heartbeat every ``heartbeat_interval``
(GM805/GM861: command 0A; GM65: a zone read); nothing valid for ``liveness_timeout`` marks it
offline. Line scanners have no command channel: only a port error shows they went away.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass

from device.hardware.codecs import scanner as grow
from device.hardware.codecs.scanner_stream import OutputDecoder, OutputItem
from device.hardware.drivers.base import SerialDriver, SerialLink, open_link
from device.hardware.errors import DeviceSilent, HandshakeError
from device.hardware.scan_filter import Debouncer, screen_payload
from device.ports import FrameRejected, Scan, ScannerEvent, ScanRejected

logger = logging.getLogger(__name__)

# model -> heartbeat command (GM65 material documents no 0A heartbeat: use a zone read)
GROW_MODELS = {
    "grow-gm65": grow.read_zone(grow.Zone.SETTINGS),
    "grow-gm805": grow.heartbeat(),
    "grow-gm861": grow.heartbeat(),
}
AUTOBAUD_RATES = (9600, 115200, 57600, 38400, 19200)


@dataclass(frozen=True, slots=True)
class ScannerSettings:
    """What the config layer gives a scanner driver (plain, typed, validated)."""

    url: str
    model: str = "grow-gm65"
    baud: int = 9600
    mode: str = "continuous"  # or "command" (the host triggers each scan)
    same_code_delay: float | None = 1.5  # the module's own setting; None turns it off
    wrapped_output: bool = False  # zone 0x0060 bit 7: 03 LEN payload instead of CR-ended
    debounce: float = 1.5
    max_payload: int = 1024
    heartbeat_interval: float = 0.5
    liveness_timeout: float = 1.2
    idle_gap: float | None = None  # line scanners without a terminator: frame on silence
    autobaud: bool = True

    def __post_init__(self) -> None:
        """Refuse settings that cannot work, at configuration time."""
        if self.mode not in ("continuous", "command"):
            raise ValueError(f"scanner mode {self.mode!r}: use continuous or command")
        if self.same_code_delay is not None and not 0 < self.same_code_delay <= 12.7:
            raise ValueError("same_code_delay must be within 0.1-12.7 s")
        if not 1 <= self.max_payload <= 4096:
            raise ValueError("max_payload must be within 1-4096 bytes")


def desired_zones(settings: ScannerSettings, current: Mapping[int, int]) -> dict[int, int]:
    """The zone values the gate wants, keeping LED/beep/aim/light bits as they were found."""
    mode = grow.MODE_BITS[settings.mode]
    delay = 0 if settings.same_code_delay is None else 0x80 | round(settings.same_code_delay * 10)
    # raw output with CR tail, no prefix/suffix/Code ID; or wrapped with no tail
    output = 0xE0 if settings.wrapped_output else 0x01
    return {
        grow.Zone.SETTINGS: (current[grow.Zone.SETTINGS] & ~0b11) | mode,
        grow.Zone.SAME_CODE_DELAY: delay,
        grow.Zone.OUTPUT: output,
    }


class _ScannerBase(SerialDriver[ScannerEvent]):
    """Payload handling shared by both drivers: screen, debounce, emit."""

    def __init__(self, settings: ScannerSettings, *, name: str) -> None:
        super().__init__(settings.url)
        self.name = name
        self.settings = settings
        self.baud: int | None = None
        self._debounce = Debouncer(settings.debounce)
        self._decoder = self._new_decoder()

    def _new_decoder(self) -> OutputDecoder:
        raise NotImplementedError

    def _emit_items_from_thread(self, items: list[OutputItem], now: float) -> None:
        for item in items:
            if isinstance(item, grow.Payload):
                self._payload_from_thread(item.data, now)
            elif isinstance(item, grow.Rejected):
                self.emit_from_thread(FrameRejected(self.name, item.reason, item.raw, now))

    def _payload_from_thread(self, data: bytes, now: float) -> None:
        screened = screen_payload(data, max_length=self.settings.max_payload)
        if isinstance(screened, tuple):
            self.emit_from_thread(ScanRejected(screened[0], screened[1], now))
        elif self._debounce.is_new(screened, now):
            self.emit_from_thread(Scan(screened, now))
        else:
            logger.debug("%s: same code again within %.1f s", self.name, self.settings.debounce)

    async def trigger(self) -> None:
        """Ask for one scan; only command-mode Grow scanners do anything with it."""


class GrowScanner(_ScannerBase):
    """Grow GM65/GM805/GM861 driver; satisfies ``device.ports.QrScanner``."""

    def __init__(self, settings: ScannerSettings, *, name: str = "scanner") -> None:
        if settings.model not in GROW_MODELS:
            raise ValueError(f"not a Grow model: {settings.model}")
        super().__init__(settings, name=name)
        self._last_valid = 0.0
        self._next_heartbeat = 0.0

    def _new_decoder(self) -> OutputDecoder:
        return OutputDecoder(binary_frames=True, max_frame=self.settings.max_payload)

    async def trigger(self) -> None:
        """Start one scan (command-trigger mode); the ACK is filtered out of the stream."""
        if self.settings.mode == "command":
            self.send_threadsafe(grow.trigger_scan())

    def _open_from_thread(self) -> SerialLink:
        return open_link(self.url, self.settings.baud)

    def handshake_from_thread(self, link: SerialLink) -> str:
        """Find the baud, then configure; returns the identity line for the log."""
        bauds = [self.settings.baud]
        if self.settings.autobaud:
            bauds += [b for b in AUTOBAUD_RATES if b != self.settings.baud]
        for baud in bauds:
            link.set_baud(baud)
            link.flush_input()
            self._decoder = self._new_decoder()
            if self._request_from_thread(link, grow.read_zone(grow.Zone.SETTINGS)) is not None:
                self.baud = baud
                wrote = self._configure_from_thread(link)
                self._last_valid = time.monotonic()
                return f"{self.settings.model} at {baud} baud, {self.settings.mode}, {wrote}"
        raise HandshakeError(f"no reply to a zone read at {'/'.join(map(str, bauds))} baud")

    def _configure_from_thread(self, link: SerialLink) -> str:
        current: dict[int, int] = {z: self._read_zone_from_thread(link, z) for z in _ZONES}
        wanted = desired_zones(self.settings, current)
        changed = [zone for zone in _ZONES if current[zone] != wanted[zone]]
        for zone in changed:
            self._expect_ok_from_thread(link, grow.write_zone(zone, bytes((wanted[zone],))))
        if changed:
            self._expect_ok_from_thread(link, grow.save_zones())
            for zone in changed:
                if self._read_zone_from_thread(link, zone) != wanted[zone]:
                    raise HandshakeError(f"zone {zone:04x} did not keep {wanted[zone]:02x}")
        zones = " ".join(f"{zone:04x}={wanted[zone]:02X}" for zone in _ZONES)
        written = ",".join(f"{z:04x}" for z in changed) or "nothing"
        return f"zones {zones}, wrote {written}" + (", saved" if changed else "")

    def _read_zone_from_thread(self, link: SerialLink, zone: int) -> int:
        reply = self._request_from_thread(link, grow.read_zone(zone))
        if reply is None or reply.status != 0 or len(reply.data) != 1:
            raise HandshakeError(f"no valid reply reading zone {zone:04x}")
        return reply.data[0]

    def _expect_ok_from_thread(self, link: SerialLink, command: bytes) -> None:
        reply = self._request_from_thread(link, command)
        if reply is None or reply.status != 0:
            raise HandshakeError(f"command {command.hex(' ')} was not acknowledged")

    def _request_from_thread(self, link: SerialLink, command: bytes) -> grow.Response | None:
        """Send a command and wait up to 0.3 s for its response (payloads meanwhile are kept)."""
        link.write(command)
        deadline = time.monotonic() + 0.3
        while time.monotonic() < deadline and not self._stop.is_set():
            now = time.monotonic()
            items = self._decoder.feed(link.read(), now)
            responses = [i for i in items if isinstance(i, grow.Response)]
            self._emit_items_from_thread(
                [i for i in items if not isinstance(i, grow.Response)], now
            )
            if responses:
                return responses[0]
        return None

    def pump_from_thread(self, link: SerialLink, now: float) -> None:
        """Heartbeat when due, read and emit; raise DeviceSilent past the liveness timeout."""
        if now >= self._next_heartbeat:
            link.write(GROW_MODELS[self.settings.model])
            self._next_heartbeat = now + self.settings.heartbeat_interval
        data = link.read()
        now = time.monotonic()
        items = self._decoder.feed(data, now)
        if any(not isinstance(i, grow.Rejected) for i in items):
            self._last_valid = now
        self._emit_items_from_thread(items, now)
        if now - self._last_valid > self.settings.liveness_timeout:
            raise DeviceSilent(f"no reply for {self.settings.liveness_timeout:.1f} s")


_ZONES = (grow.Zone.SETTINGS, grow.Zone.SAME_CODE_DELAY, grow.Zone.OUTPUT)


class LineScanner(_ScannerBase):
    """Any serial scanner that sends each code followed by CR and/or LF (or an idle gap)."""

    def __init__(self, settings: ScannerSettings, *, name: str = "scanner") -> None:
        super().__init__(settings, name=name)

    def _new_decoder(self) -> OutputDecoder:
        return OutputDecoder(
            binary_frames=False,
            idle_gap=self.settings.idle_gap,
            max_frame=self.settings.max_payload,
        )

    def _open_from_thread(self) -> SerialLink:
        return open_link(self.url, self.settings.baud)

    def handshake_from_thread(self, link: SerialLink) -> str:
        """Nothing to ask a line scanner: opening the port is all."""
        self.baud = self.settings.baud
        self._decoder = self._new_decoder()
        return f"line scanner at {self.settings.baud} baud (no heartbeat)"

    def pump_from_thread(self, link: SerialLink, now: float) -> None:
        """Read and emit; a line scanner can only be lost through a port error."""
        data = link.read()
        self._emit_items_from_thread(self._decoder.feed(data, time.monotonic()), time.monotonic())
