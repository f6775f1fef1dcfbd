"""Device supervision in the serial layer: a port named by a glob is resolved again at every
reopen (a device back under a new name is found), and a vanished device path ends the session
of a scanner that never sends anything (no heartbeat to miss)."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from device.hardware.drivers.base import open_link, resolve
from device.hardware.errors import PortError
from device.hardware.factory import build_scanner
from device.ports import DeviceState, DeviceStatus, Scan
from device.sim.scanner import ScannerSim
from tests.device.conftest import Running, run

PASS = "PG1:NCFOXN*TS0BI$ZD.P9FNJ8W3AT"


def test_a_glob_with_no_match_is_a_port_error(tmp_path: Path) -> None:
    with pytest.raises(PortError, match="no device matches"):
        resolve(str(tmp_path / "ttyACM*"))
    with pytest.raises(PortError, match="no device matches"):
        open_link(str(tmp_path / "ttyACM*"), 9600)
    assert resolve("socket://localhost:1") == ["socket://localhost:1"]
    assert resolve(str(tmp_path / "ttyACM0")) == [str(tmp_path / "ttyACM0")]


def test_a_scanner_back_under_a_new_name_is_reopened_through_a_glob(
    tmp_path: Path, sims: list[Any]
) -> None:
    first = ScannerSim("line", link=tmp_path / "ttyACM0")
    first.start()
    sims.append(first)

    async def scenario() -> tuple[str, str, Scan]:
        async with Running(build_scanner("line", str(tmp_path / "ttyACM*"))) as r:
            await r.next(DeviceStatus, where=lambda e: e.state == DeviceState.OK)
            first.stop()  # the cable pulled: the pty and its name go
            lost = await r.next(DeviceStatus, where=lambda e: e.state == DeviceState.OFFLINE)
            second = ScannerSim("line", link=tmp_path / "ttyACM1")  # plugged back: a new name
            second.start()
            sims.append(second)
            back = await r.next(DeviceStatus, within=8.0, where=lambda e: e.state == "ok")
            second.command(f"present {PASS} 0.2")
            return lost.detail, back.detail, await r.next(Scan)

    lost, back, scan = run(scenario())
    assert lost
    assert "line scanner" in back
    assert scan.payload == PASS


def test_a_silent_scanner_whose_path_vanishes_is_offline_within_2s(
    scanner_sim: Callable[..., ScannerSim], link: Path
) -> None:
    """A line scanner sends nothing between codes and its pty stays readable: only the device
    path going away (udev removes the node and its by-id link) shows the cable was pulled."""
    sim = scanner_sim("line")

    async def scenario() -> tuple[float, DeviceStatus, Scan]:
        async with Running(build_scanner("line", str(link))) as r:
            await r.next(DeviceStatus, where=lambda e: e.state == DeviceState.OK)
            start = time.monotonic()
            await asyncio.to_thread(link.unlink)
            offline = await r.next(DeviceStatus, where=lambda e: e.state == "offline")
            took = time.monotonic() - start
            os.symlink(sim.path, link)  # the udev name is back
            await r.next(DeviceStatus, within=8.0, where=lambda e: e.state == "ok")
            sim.command(f"present {PASS} 0.2")
            return took, offline, await r.next(Scan)

    took, offline, scan = run(scenario())
    assert took < 2.0
    assert "gone" in offline.detail
    assert scan.payload == PASS


def test_statuses_have_their_own_channel(
    scanner_sim: Callable[..., ScannerSim], link: Path
) -> None:
    """Nobody reads ``events()`` here (a lane busy with a person): the news still arrives."""
    sim = scanner_sim("grow-gm805")
    driver = build_scanner("grow-gm805", str(link))

    async def scenario() -> list[DeviceState]:
        seen: list[DeviceState] = []
        async with Running(driver):
            statuses = driver.statuses()
            seen.append((await anext(statuses)).state)
            sim.command("unplug")
            seen.append((await anext(statuses)).state)
        return seen

    assert run(scenario()) == [DeviceState.OK, DeviceState.OFFLINE]
