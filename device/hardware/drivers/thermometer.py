"""GY-MCU90614/90615 thermometer driver over a serial port (the "5A 5A" protocol).

At every (re)open: try the configured baud, then the other of 9600/115200, and accept the rate
at which a checksum-valid temperature frame arrives; log the module's identity. Continuous mode
streams at 10-14 Hz; query mode asks at ``query_interval`` (below the vendor's 10 Hz). No valid
frame for ``stream_timeout`` seconds marks the device offline and the port is reopened.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from device.hardware.codecs.thermometer import (
    AMBIENT_RANGE_C,
    OBJECT_RANGE_C,
    Command,
    FrameDecoder,
    Rejected,
    TemperatureFrame,
    encode_command,
)
from device.hardware.drivers.base import SerialDriver, SerialLink, open_link
from device.hardware.errors import DeviceSilent, HandshakeError
from device.hardware.readings import StuckDetector, check_offset, make_reading
from device.ports import (
    DeviceState,
    FrameRejected,
    Reading,
    ReadingError,
    ReadingFault,
    ThermometerEvent,
)

logger = logging.getLogger(__name__)

GY_MODELS = {"gy-mcu90614": 9600, "gy-mcu90615": 115200}  # model -> usual default baud
AUTOBAUD_RATES = (9600, 115200)


@dataclass(frozen=True, slots=True)
class ThermometerSettings:
    """What the config layer gives a thermometer driver (plain, typed, validated)."""

    url: str
    model: str = "gy-mcu90614"
    baud: int | None = None  # None: the model's usual default first, then autobaud
    mode: str = "continuous"  # or "query"
    offset_c: float = 0.0
    stream_timeout: float = 1.2
    query_interval: float = 0.2
    stuck_after: float | None = 60.0
    autobaud: bool = True

    def __post_init__(self) -> None:
        """Refuse settings that cannot work, at configuration time."""
        check_offset(self.offset_c)
        if self.mode not in ("continuous", "query"):
            raise ValueError(f"thermometer mode {self.mode!r}: use continuous or query")
        if self.query_interval < 0.1:
            raise ValueError("query_interval below 0.1 s exceeds the module's 10 Hz")


class ReadingCache:
    """Loop side: the newest reading or error, and a way to wait for a fresh one."""

    def __init__(self) -> None:
        self.latest: Reading | ReadingError | None = None
        self._fresh = asyncio.Event()

    def update(self, item: Reading | ReadingError) -> None:
        """Record a new reading or reading error and wake waiters."""
        self.latest = item
        self._fresh.set()

    async def read(self, *, within: float, max_age: float, offline: bool) -> Reading | ReadingError:
        """The newest reading if fresh enough, else the next one within ``within``."""
        deadline = time.monotonic() + within
        while True:
            latest = self.latest
            now = time.monotonic()
            if offline:
                return ReadingError(ReadingFault.DEVICE_OFFLINE, "thermometer offline", now)
            if latest is not None and now - latest.at <= max_age:
                return latest
            if now >= deadline:
                return ReadingError(ReadingFault.NO_READING, f"nothing within {within:.1f} s", now)
            self._fresh.clear()
            try:
                await asyncio.wait_for(self._fresh.wait(), deadline - now)
            except TimeoutError:
                continue


class GyThermometer(SerialDriver[ThermometerEvent]):
    """The GY-MCU9061x driver; satisfies ``device.ports.Thermometer``."""

    def __init__(self, settings: ThermometerSettings, *, name: str = "thermometer") -> None:
        super().__init__(settings.url)
        if settings.model not in GY_MODELS:
            raise ValueError(f"not a GY model: {settings.model}")
        self.name = name
        self.settings = settings
        self.baud: int | None = None
        self._cache = ReadingCache()
        self._decoder = FrameDecoder()
        self._stuck = StuckDetector(settings.stuck_after)
        self._last_valid = 0.0
        self._next_query = 0.0

    async def read(self, *, within: float, max_age: float = 0.5) -> Reading | ReadingError:
        """A reading no older than ``max_age``, waiting up to ``within``; never invented."""
        return await self._cache.read(
            within=within, max_age=max_age, offline=self.state != DeviceState.OK
        )

    def _handle_on_loop(self, item: ThermometerEvent) -> None:
        if isinstance(item, Reading | ReadingError):
            self._cache.update(item)

    def _bauds(self) -> list[int]:
        first = self.settings.baud or GY_MODELS[self.settings.model]
        if not self.settings.autobaud:
            return [first]
        return [first, *(b for b in AUTOBAUD_RATES if b != first)]

    def _open_from_thread(self) -> SerialLink:
        return open_link(self.url, self._bauds()[0])

    def handshake_from_thread(self, link: SerialLink) -> str:
        """Autobaud: the first rate at which a checksum-valid temperature frame arrives."""
        mode = Command.CONTINUOUS if self.settings.mode == "continuous" else Command.QUERY
        for baud in self._bauds():
            link.set_baud(baud)
            link.flush_input()
            self._decoder = FrameDecoder()
            frame = self._first_frame_from_thread(link, encode_command(mode))
            if frame is not None:
                self.baud = baud
                self._last_valid = time.monotonic()
                return (
                    f"{self.settings.model} at {baud} baud, {self.settings.mode}, "
                    f"object {frame.object_c:.2f} C ambient {frame.ambient_c:.2f} C"
                )
            logger.info("%s: no valid frame at %d baud on %s", self.name, baud, self.url)
        raise HandshakeError(f"no valid frame at {'/'.join(map(str, self._bauds()))} baud")

    def _first_frame_from_thread(self, link: SerialLink, command: bytes) -> TemperatureFrame | None:
        deadline = time.monotonic() + 0.6
        next_send = 0.0
        while time.monotonic() < deadline and not self._stop.is_set():
            now = time.monotonic()
            if now >= next_send:  # resend: the first command may meet a module still booting
                link.write(command)
                next_send = now + 0.2
            for item in self._decoder.feed(link.read(), time.monotonic()):
                if isinstance(item, TemperatureFrame):
                    return item
        return None

    def pump_from_thread(self, link: SerialLink, now: float) -> None:
        """Read, decode and emit; query when due; raise DeviceSilent past the stream timeout."""
        if self.settings.mode == "query" and now >= self._next_query:
            link.write(encode_command(Command.QUERY))
            self._next_query = now + self.settings.query_interval
        data = link.read()
        now = time.monotonic()
        for item in self._decoder.feed(data, now):
            self.emit_from_thread(self._convert(item, now))
        if now - self._last_valid > self.settings.stream_timeout:
            raise DeviceSilent(f"no valid frame for {self.settings.stream_timeout:.1f} s")

    def _convert(self, item: TemperatureFrame | Rejected, now: float) -> ThermometerEvent:
        if isinstance(item, Rejected):
            fault = item.reason.startswith("unexpected_type")
            if fault:
                return ReadingError(ReadingFault.WRONG_DEVICE, item.reason, now, item.raw)
            return FrameRejected(self.name, item.reason, item.raw, now)
        self._last_valid = now
        problem = item.fault
        if problem is not None:  # the module answers, but with no temperature a person has
            return ReadingError(ReadingFault.OUT_OF_RANGE, problem, now, item.raw)
        if self._stuck.is_stuck((item.object_raw, item.ambient_raw), now):
            return ReadingError(ReadingFault.STUCK, "raw values unchanged", now, item.raw)
        return make_reading(
            item.object_c,
            item.ambient_c,
            offset_c=self.settings.offset_c,
            at=now,
            model=self.settings.model,
            raw=item.raw,
            object_range=OBJECT_RANGE_C,
            ambient_range=AMBIENT_RANGE_C,
        )
