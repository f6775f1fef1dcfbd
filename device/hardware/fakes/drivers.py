"""In-memory fakes of the serial devices: the thermometer and the QR scanner.

A person is played by ``feed`` (a sensor frame) and ``present`` (a code shown). They screen,
debounce and check values with the same functions as the real drivers, so a test cannot get a
value past a fake that a driver would refuse.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from device.hardware.readings import make_reading
from device.hardware.scan_filter import Debouncer, screen_payload
from device.ports import (
    DeviceState,
    DeviceStatus,
    Reading,
    ReadingError,
    ReadingFault,
    Scan,
    ScannerEvent,
    ScanRejected,
    ThermometerEvent,
)


class FakeThermometer:
    """``feed(object_c, ambient_c)`` stands for a sensor frame; same checks as the drivers."""

    name = "thermometer"

    def __init__(self, *, offset_c: float = 0.0) -> None:
        self.offset_c = offset_c
        self.state = DeviceState.OK
        self.latest: Reading | ReadingError | None = None
        self._queue: asyncio.Queue[ThermometerEvent] = asyncio.Queue()

    def feed(self, object_c: float, ambient_c: float) -> Reading | ReadingError:
        """A new sensor value, through ``make_reading`` (NaN never becomes a reading)."""
        item = make_reading(
            object_c, ambient_c, offset_c=self.offset_c, at=time.monotonic(), model="fake"
        )
        self.latest = item
        self._queue.put_nowait(item)
        return item

    def set_state(self, state: DeviceState, detail: str = "") -> None:
        """Report a health change."""
        self.state = state
        self._queue.put_nowait(DeviceStatus(self.name, state, detail, time.monotonic()))

    async def run(self) -> None:
        """Nothing to supervise: wait to be cancelled."""
        await asyncio.Event().wait()

    async def read(self, *, within: float, max_age: float = 0.5) -> Reading | ReadingError:
        """The latest reading if fresh, else an explicit error (no waiting in the fake)."""
        now = time.monotonic()
        if self.state != DeviceState.OK:
            return ReadingError(ReadingFault.DEVICE_OFFLINE, "fake offline", now)
        if self.latest is not None and now - self.latest.at <= max_age:
            return self.latest
        return ReadingError(ReadingFault.NO_READING, "nothing fed", now)

    async def events(self) -> AsyncIterator[ThermometerEvent]:
        """Everything fed, in order."""
        while True:
            yield await self._queue.get()


class FakeScanner:
    """``present(payload)`` stands for a person showing a code; same screening as the drivers."""

    name = "scanner"

    def __init__(self, *, debounce: float = 1.5, max_payload: int = 1024) -> None:
        self.state = DeviceState.OK
        self.triggers = 0
        self._max = max_payload
        self._debounce = Debouncer(debounce)
        self._queue: asyncio.Queue[ScannerEvent] = asyncio.Queue()
        self._statuses: asyncio.Queue[DeviceStatus] = asyncio.Queue()

    def present(self, payload: bytes | str) -> None:
        """A code read by the scanner."""
        data = payload.encode() if isinstance(payload, str) else payload
        now = time.monotonic()
        screened = screen_payload(data, max_length=self._max)
        if isinstance(screened, tuple):
            self._queue.put_nowait(ScanRejected(screened[0], screened[1], now))
        elif self._debounce.is_new(screened, now):
            self._queue.put_nowait(Scan(screened, now))

    def set_state(self, state: DeviceState, detail: str = "") -> None:
        """Report a health change."""
        self.state = state
        status = DeviceStatus(self.name, state, detail, time.monotonic())
        self._queue.put_nowait(status)
        self._statuses.put_nowait(status)

    async def run(self) -> None:
        """Nothing to supervise: wait to be cancelled."""
        await asyncio.Event().wait()

    async def statuses(self) -> AsyncIterator[DeviceStatus]:
        """Each health change set with ``set_state``."""
        while True:
            yield await self._statuses.get()

    async def trigger(self) -> None:
        """Count trigger requests."""
        self.triggers += 1

    async def events(self) -> AsyncIterator[ScannerEvent]:
        """Everything presented, in order."""
        while True:
            yield await self._queue.get()
