"""The sd_notify path of the real gate daemon (``gatepass-gate run``, simulated hardware on ptys)
against a fake notify socket, as systemd runs it under deploy/gate/gatepass-gate.service."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from device import app
from device.sim.scanner import ScannerSim
from device.sim.thermometer import ThermometerSim
from tests.deploy.conftest import BIN, Site
from tests.support.gate_toml import write_gate_toml
from tests.support.mosquitto import free_port

WATCHDOG_USEC = 400_000  # pings every 0.2 s


class NotifySocket:
    """What systemd listens on: a unix datagram socket; collects the daemon's messages."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.path = path

    def next(self, within: float) -> str | None:
        self.sock.settimeout(within)
        try:
            return self.sock.recv(4096).decode()
        except TimeoutError:
            return None

    def until(self, message: str, within: float) -> list[str]:
        """Messages up to and including ``message``; fails after ``within`` seconds."""
        seen: list[str] = []
        deadline = time.monotonic() + within
        while (left := deadline - time.monotonic()) > 0:
            got = self.next(left)
            if got is not None:
                seen.append(got)
                if got == message:
                    return seen
        raise AssertionError(f"no {message} within {within} s; got {seen}")

    def during(self, seconds: float) -> list[str]:
        seen: list[str] = []
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            got = self.next(left)
            if got is not None:
                seen.append(got)
        return seen


@pytest.fixture
def daemon(tmp_path: Path, site: Site) -> Iterator[tuple[subprocess.Popen[bytes], NotifySocket]]:
    """The provisioned gate file on simulated hardware; no broker listening (offline start)."""
    raw = tomllib.loads(site.gate_file.read_text())
    raw["gate"] |= {"hardware": "sim", "data_dir": str(tmp_path / "data")}
    raw["broker"]["port"] = free_port()  # nothing there: the gate must start and run offline
    raw["scanner"]["port"] = str(tmp_path / "scanner")
    raw["thermometer"]["port"] = str(tmp_path / "thermo")
    config = write_gate_toml(tmp_path / "gate.toml", raw)
    scanner = ScannerSim("grow-gm65", link=tmp_path / "scanner")
    thermo = ThermometerSim("gy-mcu90614", link=tmp_path / "thermo")
    scanner.start()
    thermo.start()
    notify = NotifySocket(tmp_path / "notify.sock")
    env = os.environ | {"NOTIFY_SOCKET": str(notify.path), "WATCHDOG_USEC": str(WATCHDOG_USEC)}
    env.pop("WATCHDOG_PID", None)
    with (tmp_path / "out.log").open("wb") as out:
        proc = subprocess.Popen(
            [str(BIN / "gatepass-gate"), "run", "--config", str(config)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield proc, notify
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGCONT)
            proc.kill()
            proc.wait(10)
        notify.sock.close()
        scanner.stop()
        thermo.stop()


def test_ready_watchdog_and_stopping(daemon: tuple[subprocess.Popen[bytes], NotifySocket]) -> None:
    proc, notify = daemon
    notify.until("READY=1", within=20)
    pings = notify.during(1.2)
    assert pings.count("WATCHDOG=1") >= 4, pings  # every WATCHDOG_USEC / 2 = 0.2 s
    # A wedged event loop feeds nothing: systemd would kill and restart the unit.
    proc.send_signal(signal.SIGSTOP)
    notify.during(0.1)  # what was already queued
    assert notify.during(0.8) == []
    proc.send_signal(signal.SIGCONT)
    assert "WATCHDOG=1" in notify.during(1.0)
    proc.send_signal(signal.SIGTERM)
    notify.until("STOPPING=1", within=5)
    assert proc.wait(20) == 0  # a deliberate stop is not a failure (Restart=on-failure)


async def test_unhealthy_when_a_vital_task_has_ended() -> None:
    """The rule the watchdog task applies (device/app.py): lane, relay and upkeep alive."""

    async def forever() -> None:
        await asyncio.Event().wait()

    async def ends() -> None:
        return None

    tasks = {
        name: asyncio.create_task(forever()) for name in ("lane", "relay", "upkeep", "scanner")
    }
    assert app._healthy(tasks)
    tasks["scanner"].cancel()  # a device task is supervised by its driver, not by the watchdog
    await asyncio.sleep(0)
    assert app._healthy(tasks)
    tasks["lane"] = asyncio.create_task(ends())
    await asyncio.sleep(0)
    assert not app._healthy(tasks)
    for task in tasks.values():
        task.cancel()
