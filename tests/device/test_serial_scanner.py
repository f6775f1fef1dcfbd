"""Scanner drivers against the simulator over real ptys: configuration, modes, faults, recovery."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from device.hardware.drivers.scanner import GrowScanner, ScannerSettings
from device.hardware.factory import build_scanner
from device.ports import DeviceState, DeviceStatus, FrameRejected, QrScanner, Scan, ScanRejected
from device.sim.scanner import ScannerSim
from tests.device.conftest import Running, run

PASS = "PG1:NCFOXN*TS0BI$ZD.P9FNJ8W3AT"


def grow(link: Path, **kwargs: object) -> GrowScanner:
    return GrowScanner(ScannerSettings(url=str(link), **kwargs))  # type: ignore[arg-type]


def test_satisfies_the_port(link: Path) -> None:
    assert isinstance(grow(link), QrScanner)
    assert isinstance(build_scanner("line", str(link)), QrScanner)


@pytest.mark.parametrize("model", ["grow-gm65", "grow-gm805", "grow-gm861"])
def test_configures_once_then_scans(
    scanner_sim: Callable[..., ScannerSim], link: Path, model: str
) -> None:
    sim = scanner_sim(model)

    async def scenario() -> tuple[DeviceStatus, Scan]:
        async with Running(grow(link, model=model)) as r:
            ok = await r.next(DeviceStatus)
            sim.command(f"present {PASS} 0.5")
            return ok, await r.next(Scan)

    ok, scan = run(scenario())
    assert ok.state == DeviceState.OK
    assert scan.payload == PASS
    assert sim.saves == 1
    assert sim.zones[0x00] & 0b11 == 0b10  # continuous
    assert sim.zones[0x60] == 0x01  # raw output, CR tail
    assert sim.zones[0x13] == 0x8F  # same-code delay on, 1.5 s
    assert "saved" in ok.detail

    sim.written.clear()

    async def again() -> DeviceStatus:
        async with Running(grow(link, model=model)) as r:
            return await r.next(DeviceStatus)

    second = run(again())
    assert sim.written == []
    assert sim.saves == 1
    assert "wrote nothing" in second.detail


def test_command_mode_trigger_with_ack_glued_to_the_code(
    scanner_sim: Callable[..., ScannerSim], link: Path
) -> None:
    sim = scanner_sim("grow-gm861")
    sim.command("glue on")

    async def scenario() -> tuple[Scan, int]:
        async with Running(grow(link, model="grow-gm861", mode="command")) as r:
            await r.next(DeviceStatus)
            sim.command(f"present {PASS} 3")
            await asyncio.sleep(0.3)  # a negative check: nothing is read without a trigger
            before = sim.outputs
            await r.driver.trigger()
            return await r.next(Scan), before

    scan, before = run(scenario())
    assert before == 0
    assert scan.payload == PASS
    assert sim.zones[0x00] & 0b11 == 0b01


def test_protocol_wrapped_output(scanner_sim: Callable[..., ScannerSim], link: Path) -> None:
    sim = scanner_sim("grow-gm805")

    async def scenario() -> Scan:
        async with Running(grow(link, model="grow-gm805", wrapped_output=True)) as r:
            await r.next(DeviceStatus)
            sim.command(f"present {PASS} 0.5")
            return await r.next(Scan)

    assert run(scenario()).payload == PASS
    assert sim.zones[0x60] == 0xE0


def test_held_code_is_debounced_but_a_new_code_is_not(
    scanner_sim: Callable[..., ScannerSim], link: Path
) -> None:
    sim = scanner_sim("grow-gm65")

    async def scenario() -> list[Scan]:
        # module delay off: the simulator re-reads every 150 ms, the driver must suppress
        async with Running(grow(link, same_code_delay=None, debounce=1.5)) as r:
            await r.next(DeviceStatus)
            sim.command(f"present {PASS} 1.0")
            first = await r.next(Scan)
            await_outputs(sim, 4)
            sim.command("present PG1:OTHER 0.3")
            return [first, await r.next(Scan)]

    scans = run(scenario())
    assert [s.payload for s in scans] == [PASS, "PG1:OTHER"]
    assert sim.outputs >= 5


def await_outputs(sim: ScannerSim, count: int) -> None:
    deadline = time.monotonic() + 3
    while sim.outputs < count and time.monotonic() < deadline:
        time.sleep(0.02)
    assert sim.outputs >= count


def test_bad_payload_is_rejected_not_echoed(
    scanner_sim: Callable[..., ScannerSim], link: Path
) -> None:
    sim = scanner_sim("grow-gm65")

    async def scenario() -> tuple[ScanRejected, Scan]:
        async with Running(grow(link)) as r:
            await r.next(DeviceStatus)
            sim.command("bytes 1b5b324a00ff0d")
            rejected = await r.next(ScanRejected)
            sim.command("send PG1:AFTER")
            return rejected, await r.next(Scan)

    rejected, scan = run(scenario())
    assert rejected == ScanRejected("not_printable_ascii", 6, rejected.at)
    assert scan.payload == "PG1:AFTER"


def test_corrupt_reply_during_configuration_is_retried(
    scanner_sim: Callable[..., ScannerSim], link: Path
) -> None:
    sim = scanner_sim("grow-gm65")
    sim.command("corrupt 2")

    async def scenario() -> tuple[FrameRejected, DeviceStatus]:
        async with Running(grow(link, autobaud=False)) as r:
            bad = await r.next(FrameRejected)
            return bad, await r.next(DeviceStatus, within=8.0, where=lambda e: e.state == "ok")

    bad, ok = run(scenario())
    assert bad.reason == "bad_crc"
    assert ok.state == DeviceState.OK


@pytest.mark.parametrize("fault", ["unplug", "dead on"])
def test_lost_scanner_detected_within_2s_and_recovered(
    scanner_sim: Callable[..., ScannerSim], link: Path, fault: str
) -> None:
    sim = scanner_sim("grow-gm805")

    async def scenario() -> tuple[float, Scan]:
        async with Running(grow(link, model="grow-gm805")) as r:
            await r.next(DeviceStatus)
            start = time.monotonic()
            sim.command(fault)
            await r.next(DeviceStatus, where=lambda e: e.state == DeviceState.OFFLINE)
            took = time.monotonic() - start
            sim.command("replug" if fault == "unplug" else "dead off")
            await r.next(DeviceStatus, within=8.0, where=lambda e: e.state == DeviceState.OK)
            sim.command(f"present {PASS} 0.5")
            return took, await r.next(Scan)

    took, scan = run(scenario())
    assert took < 2.0
    assert scan.payload == PASS


def test_autobaud_finds_the_scanner(scanner_sim: Callable[..., ScannerSim], link: Path) -> None:
    scanner_sim("grow-gm65", baud=115200)

    async def scenario() -> DeviceStatus:
        async with Running(grow(link)) as r:
            return await r.next(DeviceStatus, within=5.0)

    status = run(scenario())
    assert status.state == DeviceState.OK
    assert "115200 baud" in status.detail


def test_line_scanner(scanner_sim: Callable[..., ScannerSim], link: Path) -> None:
    sim = scanner_sim("line")

    async def scenario() -> tuple[Scan, DeviceStatus]:
        async with Running(build_scanner("line", str(link))) as r:
            await r.next(DeviceStatus)
            sim.command(f"present {PASS} 0.2")
            scan = await r.next(Scan)
            sim.command("unplug")
            return scan, await r.next(DeviceStatus, where=lambda e: e.state == "offline")

    scan, offline = run(scenario())
    assert scan.payload == PASS
    assert offline.state == DeviceState.OFFLINE
