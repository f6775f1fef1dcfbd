"""Modbus IR transmitter driver (minimalmodbus) against the register-map simulator over a pty."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from device.hardware.drivers.modbus import ModbusSettings, ModbusThermometer
from device.hardware.factory import build_thermometer
from device.ports import DeviceState, DeviceStatus, Reading, ReadingError, ReadingFault, Thermometer
from device.sim.modbus import ModbusSim
from tests.device.conftest import Running, run


@pytest.mark.parametrize("register_map", ["calex", "omega"])
def test_reading_and_emissivity(
    modbus_sim: Callable[..., ModbusSim], link: Path, register_map: str
) -> None:
    sim = modbus_sim(register_map=register_map)
    sim.command("object 34.6")
    therm = ModbusThermometer(
        ModbusSettings(url=str(link), register_map=register_map, offset_c=1.0)
    )
    assert isinstance(therm, Thermometer)

    async def scenario() -> tuple[DeviceStatus, Reading]:
        async with Running(therm) as r:
            return await r.next(DeviceStatus), await r.next(Reading)

    ok, reading = run(scenario())
    assert ok.state == DeviceState.OK
    assert f"{register_map} map" in ok.detail
    assert abs(reading.object_c - 34.6) <= 0.2
    assert reading.body_c == pytest.approx(reading.object_c + 1.0)
    assert json.loads(sim.command("status")[3:])["emissivity"] == 9800


def test_status_bits_become_a_sensor_error(
    modbus_sim: Callable[..., ModbusSim], link: Path
) -> None:
    sim = modbus_sim()

    async def scenario() -> ReadingError:
        async with Running(build_thermometer("modbus-ir", str(link))) as r:
            await r.next(Reading)
            sim.command("fault 0x01")
            return await r.next(ReadingError)

    assert run(scenario()).fault == ReadingFault.SENSOR_ERROR


def test_silent_transmitter_goes_offline_and_recovers(
    modbus_sim: Callable[..., ModbusSim], link: Path
) -> None:
    sim = modbus_sim()

    async def scenario() -> float:
        async with Running(build_thermometer("modbus-ir", str(link))) as r:
            await r.next(Reading)
            start = time.monotonic()
            sim.command("dead on")
            await r.next(DeviceStatus, where=lambda e: e.state == DeviceState.OFFLINE)
            took = time.monotonic() - start
            sim.command("dead off")
            await r.next(DeviceStatus, within=8.0, where=lambda e: e.state == DeviceState.OK)
            await r.next(Reading)
            return took

    assert run(scenario()) < 2.0
