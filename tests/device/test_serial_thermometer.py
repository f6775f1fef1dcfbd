"""GY thermometer driver vs the simulator on real ptys: readings, faults, autobaud, recovery."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
import serial

from device.hardware.codecs import thermometer as gy
from device.hardware.drivers.thermometer import GyThermometer, ThermometerSettings
from device.ports import (
    DeviceState,
    DeviceStatus,
    FrameRejected,
    Reading,
    ReadingError,
    ReadingFault,
    Thermometer,
)
from device.sim.thermometer import ThermometerSim
from tests.device.conftest import Running, run, wait_until

OK = DeviceState.OK
OFFLINE = DeviceState.OFFLINE


def driver(link: Path, **kwargs: object) -> GyThermometer:
    settings = ThermometerSettings(url=str(link), **kwargs)  # type: ignore[arg-type]
    return GyThermometer(settings)


def is_state(state: DeviceState) -> Callable[[DeviceStatus], bool]:
    return lambda e: e.state == state


def test_satisfies_the_port(link: Path) -> None:
    assert isinstance(driver(link), Thermometer)


def test_person_reading_carries_object_ambient_offset_and_body(
    thermo_sim: Callable[..., ThermometerSim], link: Path
) -> None:
    sim = thermo_sim()

    async def scenario() -> tuple[DeviceStatus, Reading, object]:
        async with Running(driver(link, offset_c=2.41)) as r:
            ok = await r.next(DeviceStatus)
            sim.command("person 34.5 1.0")
            reading = await r.next(Reading, where=lambda e: e.object_c > 34.3)
            return ok, reading, await r.driver.read(within=1.0)

    ok, reading, latest = run(scenario())
    assert ok.state == OK
    assert "gy-mcu90614 at 9600 baud" in ok.detail
    assert reading.offset_c == 2.41
    assert reading.body_c == pytest.approx(reading.object_c + 2.41)
    assert 24.0 < reading.ambient_c < 26.0
    assert reading.raw[:4] == bytes.fromhex("5A5A4504")
    assert isinstance(latest, Reading)


@pytest.mark.parametrize("mismatch", ["garbage", "silence"])
def test_autobaud_finds_115200(
    thermo_sim: Callable[..., ThermometerSim], link: Path, mismatch: str
) -> None:
    sim = thermo_sim("gy-mcu90614", baud=115200, mismatch=mismatch)

    async def scenario() -> tuple[DeviceStatus, Reading]:
        async with Running(driver(link)) as r:
            return await r.next(DeviceStatus), await r.next(Reading)

    ok, reading = run(scenario())
    assert ok.state == OK
    assert "115200 baud" in ok.detail
    assert sim.baud == 115200
    assert reading.model == "gy-mcu90614"


def test_autobaud_off_at_the_wrong_rate_stays_offline(
    thermo_sim: Callable[..., ThermometerSim], link: Path
) -> None:
    thermo_sim("gy-mcu90615", baud=9600)

    async def scenario() -> DeviceStatus:
        async with Running(driver(link, model="gy-mcu90615", autobaud=False)) as r:
            return await r.next(DeviceStatus)

    status = run(scenario())
    assert status.state == OFFLINE
    assert "no valid frame at 115200" in status.detail


def test_query_mode_polls_and_stops_the_stream(
    thermo_sim: Callable[..., ThermometerSim], link: Path
) -> None:
    sim = thermo_sim()

    async def scenario() -> list[Reading]:
        async with Running(driver(link, mode="query", query_interval=0.1)) as r:
            await r.next(DeviceStatus)
            return [await r.next(Reading) for _ in range(3)]

    readings = run(scenario())
    assert len(readings) == 3
    assert not sim.streaming


def test_corrupt_stray_split_frames(thermo_sim: Callable[..., ThermometerSim], link: Path) -> None:
    sim = thermo_sim()

    async def scenario() -> tuple[FrameRejected, Reading]:
        async with Running(driver(link)) as r:
            await r.next(DeviceStatus)
            sim.command("corrupt 1")
            bad = await r.next(FrameRejected)
            sim.command("stray 3")
            sim.command("split on")
            await r.next(Reading)
            return bad, await r.next(Reading)

    bad, reading = run(scenario())
    assert bad.reason == "bad_checksum"
    assert reading.object_c < 30


@pytest.mark.parametrize(
    ("command", "fault"),
    [("wrongtype 1", ReadingFault.WRONG_DEVICE), ("raw 32767 2510", ReadingFault.OUT_OF_RANGE)],
)
def test_wrong_device_and_sentinels_are_errors(
    thermo_sim: Callable[..., ThermometerSim], link: Path, command: str, fault: ReadingFault
) -> None:
    sim = thermo_sim()

    async def scenario() -> ReadingError:
        async with Running(driver(link)) as r:
            await r.next(DeviceStatus)
            sim.command(command)
            return await r.next(ReadingError)

    assert run(scenario()).fault == fault


def test_stuck_sensor(thermo_sim: Callable[..., ThermometerSim], link: Path) -> None:
    sim = thermo_sim()
    sim.command("noise 0")

    async def scenario() -> ReadingError:
        async with Running(driver(link, stuck_after=0.3)) as r:
            return await r.next(ReadingError)

    assert run(scenario()).fault == ReadingFault.STUCK


def test_unplug_detected_within_2s_and_recovered(
    thermo_sim: Callable[..., ThermometerSim], link: Path
) -> None:
    sim = thermo_sim()

    async def scenario() -> tuple[float, DeviceStatus, object, Reading]:
        async with Running(driver(link)) as r:
            await r.next(DeviceStatus, where=is_state(OK))
            await r.next(Reading)
            start = time.monotonic()
            sim.command("unplug")
            await r.next(DeviceStatus, where=is_state(OFFLINE))
            took = time.monotonic() - start
            while_offline = await r.driver.read(within=0.2)
            sim.command("replug")
            back = await r.next(DeviceStatus, within=8.0, where=is_state(OK))
            return took, back, while_offline, await r.next(Reading)

    took, back, while_offline, reading = run(scenario())
    assert took < 2.0
    assert back.state == OK
    assert isinstance(while_offline, ReadingError)
    assert while_offline.fault == ReadingFault.DEVICE_OFFLINE
    assert reading.object_c < 30


def test_dead_sensor_detected_within_2s_and_recovered(
    thermo_sim: Callable[..., ThermometerSim], link: Path
) -> None:
    sim = thermo_sim()

    async def scenario() -> tuple[float, DeviceStatus]:
        async with Running(driver(link)) as r:
            await r.next(Reading)
            start = time.monotonic()
            sim.command("dead on")
            offline = await r.next(DeviceStatus, where=is_state(OFFLINE))
            took = time.monotonic() - start
            sim.command("dead off")
            await r.next(DeviceStatus, within=8.0, where=is_state(OK))
            return took, offline

    took, offline = run(scenario())
    assert took < 2.0
    assert "no valid frame" in offline.detail


def test_baud_command_applies_only_after_a_power_cycle(
    thermo_sim: Callable[..., ThermometerSim], link: Path
) -> None:
    sim = thermo_sim()
    with serial.serial_for_url(str(link), baudrate=9600, timeout=0.1) as port:
        port.write(gy.encode_command(gy.Command.BAUD_115200))
        wait_until(lambda: sim.pending_baud == 115200)
        assert sim.baud == 9600
    sim.command("power-cycle")
    assert sim.baud == 115200
