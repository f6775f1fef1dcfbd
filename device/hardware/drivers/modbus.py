"""Modbus RTU IR transmitter driver (Calex PyroUSB, Omega OS-MINI and alikes), via minimalmodbus.

Polls object (filtered), sensor and status registers in one read every ``poll_interval``.
The sensor's own temperature stands in for ambient; these pyrometers have no body
compensation, so the configured offset is the whole of it. A status error bit becomes a
``ReadingError``; no reply for ``stream_timeout`` marks the device offline.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import minimalmodbus
import serial

from device.hardware.codecs.modbus import REGISTER_MAPS, STATUS_ERROR_BITS, RegisterMap
from device.hardware.drivers.base import SerialDriver, SerialLink, open_link
from device.hardware.drivers.thermometer import ReadingCache
from device.hardware.errors import DeviceSilent, HandshakeError, PortError
from device.hardware.readings import check_offset, make_reading
from device.ports import (
    DeviceState,
    FrameRejected,
    Reading,
    ReadingError,
    ReadingFault,
    ThermometerEvent,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ModbusSettings:
    """What the config layer gives the Modbus thermometer driver."""

    url: str
    baud: int = 9600
    slave: int = 1
    register_map: str = "calex"
    offset_c: float = 0.0
    emissivity: float | None = 0.98  # skin; written to the volatile register at start-up
    poll_interval: float = 0.2
    stream_timeout: float = 1.2
    reply_timeout: float = 0.15

    def __post_init__(self) -> None:
        """Refuse settings that cannot work, at configuration time."""
        check_offset(self.offset_c)
        if self.register_map not in REGISTER_MAPS:
            raise ValueError(f"register map {self.register_map!r}: use {sorted(REGISTER_MAPS)}")
        if not 1 <= self.slave <= 247 and self.slave != 255:
            raise ValueError("slave address must be 1-247 (or 255 for a lone sensor)")


def _signed(value: int) -> int:
    return value - 0x10000 if value & 0x8000 else value


class ModbusThermometer(SerialDriver[ThermometerEvent]):
    """Modbus IR transmitter; satisfies ``device.ports.Thermometer``."""

    def __init__(self, settings: ModbusSettings, *, name: str = "thermometer") -> None:
        super().__init__(settings.url)
        self.name = name
        self.settings = settings
        self.map: RegisterMap = REGISTER_MAPS[settings.register_map]
        self._cache = ReadingCache()
        self._instrument: minimalmodbus.Instrument | None = None
        self._last_valid = 0.0
        self._next_poll = 0.0

    async def read(self, *, within: float, max_age: float = 0.5) -> Reading | ReadingError:
        """A reading no older than ``max_age``, waiting up to ``within``; never invented."""
        return await self._cache.read(
            within=within, max_age=max_age, offline=self.state != DeviceState.OK
        )

    def _handle_on_loop(self, item: ThermometerEvent) -> None:
        if isinstance(item, Reading | ReadingError):
            self._cache.update(item)

    def _open_from_thread(self) -> SerialLink:
        link = open_link(self.url, self.settings.baud, timeout=self.settings.reply_timeout)
        self._instrument = minimalmodbus.Instrument(link.port, self.settings.slave)
        return link

    def _registers_from_thread(self) -> list[int] | None:
        """One read of filtered..status; None when the reply is missing or malformed."""
        assert self._instrument is not None
        count = self.map.status - self.map.filtered + 1
        try:
            return list(self._instrument.read_registers(self.map.filtered, count))
        except minimalmodbus.ModbusException as exc:
            logger.debug("%s: %s", self.name, exc)
            self.emit_from_thread(
                FrameRejected(self.name, type(exc).__name__, b"", time.monotonic())
            )
            return None
        except (serial.SerialException, OSError, TypeError) as exc:
            raise PortError(f"modbus on {self.url}: {exc}") from exc

    def handshake_from_thread(self, link: SerialLink) -> str:
        """Read the registers once and set the emissivity for skin."""
        values = self._registers_from_thread() or self._registers_from_thread()
        if values is None:
            raise HandshakeError(f"no Modbus reply from slave {self.settings.slave}")
        if self.settings.emissivity is not None:
            assert self._instrument is not None
            try:
                self._instrument.write_register(
                    self.map.emissivity, round(self.settings.emissivity * 10000), functioncode=6
                )
            except minimalmodbus.ModbusException as exc:
                raise HandshakeError(f"emissivity write refused: {exc}") from exc
            except (serial.SerialException, OSError) as exc:
                raise PortError(f"modbus on {self.url}: {exc}") from exc
        self._last_valid = time.monotonic()
        return (
            f"modbus-ir {self.settings.register_map} map, slave {self.settings.slave} at "
            f"{self.settings.baud} baud, status {values[-1]:04x}"
        )

    def pump_from_thread(self, link: SerialLink, now: float) -> None:
        """Poll when due and emit; raise DeviceSilent past the stream timeout."""
        if now < self._next_poll:
            self._stop.wait(min(0.02, self._next_poll - now))
            return
        self._next_poll = now + self.settings.poll_interval
        values = self._registers_from_thread()
        now = time.monotonic()
        if values is not None:
            self._last_valid = now
            self.emit_from_thread(self._convert(values, now))
        if now - self._last_valid > self.settings.stream_timeout:
            raise DeviceSilent(f"no reply for {self.settings.stream_timeout:.1f} s")

    def _convert(self, values: list[int], now: float) -> Reading | ReadingError:
        m = self.map
        raw = b"".join(v.to_bytes(2, "big") for v in values)
        status = values[m.status - m.filtered]
        if status & STATUS_ERROR_BITS:
            return ReadingError(ReadingFault.SENSOR_ERROR, f"status {status:04x}", now, raw)
        return make_reading(
            _signed(values[0]) / 10,
            _signed(values[m.sensor - m.filtered]) / 10,
            offset_c=self.settings.offset_c,
            at=now,
            model="modbus-ir",
            raw=raw,
        )
