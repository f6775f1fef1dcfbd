"""A whole lane in one test: simulators on ptys, the real gate daemon on mock pins, a real
broker, and a stand-in server that publishes trust and acks events."""

from __future__ import annotations

import asyncio
import contextlib
import shlex
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import pytest

from device import app
from device.app import Gate
from device.config import GateSettings, validate
from device.hardware.clock import SystemClock
from device.ports import Clock
from device.sim.scanner import ScannerSim
from device.sim.thermometer import ThermometerSim
from protocol.messages import DeviceState
from protocol.topics import TopicKind
from tests.support.fake_server import FakeServer
from tests.support.gate_toml import sim_lane_sections
from tests.support.mosquitto import Mosquitto
from tests.support.site import TestSite

GATE = "east-in"


def gate_settings(
    tmp: Path, broker: Mosquitto, password: str, site: TestSite, **sections: dict[str, Any]
) -> GateSettings:
    """A complete gate config for a simulated lane (simulators linked at ``tmp``)."""
    raw = sim_lane_sections(
        tmp,
        site=site.site,
        gate=GATE,
        root_key=site.root_hex,
        host=broker.host,
        port=broker.port,
        password=password,
    )
    raw["thermometer"]["offset_c"] = 2.3
    raw["policy"] = {"phone_check_resident": "never", "step_timeout_s": 4}
    raw["outbox"] = {"resend_after_s": 2.0}
    for name, values in sections.items():
        raw[name] = raw.get(name, {}) | values
    return validate(raw)


@dataclass
class Lane:
    """Everything a test drives or inspects."""

    gate: Gate
    site: TestSite
    server: FakeServer
    scanner: ScannerSim
    thermometer: ThermometerSim
    broker: Mosquitto

    def present(self, text: str) -> None:
        # Base45 has spaces: quote the pass (the simulator splits commands like a shell)
        assert self.scanner.command(f"present {shlex.quote(text)} 0.4").startswith("ok")

    def step_in(self, skin_c: float = 34.3, hold_s: float = 3.0) -> None:
        assert self.thermometer.command(f"person {skin_c} {hold_s}").startswith("ok")

    async def decision(self, within: float = 15.0) -> Any:
        return await asyncio.to_thread(self.server.next_event, within, kind="decision")

    async def alarm(self, within: float = 15.0) -> Any:
        return await asyncio.to_thread(self.server.next_event, within, kind="alarm")

    async def until(self, check: Callable[[], bool], within: float = 20.0) -> None:
        deadline = time.monotonic() + within
        while not check():
            if time.monotonic() > deadline:
                raise TimeoutError("condition not reached")
            await asyncio.sleep(0.02)

    def publish_config(self, version: int, **policy: Any) -> None:
        data = self.site.config(GATE, version=version, **policy)
        self.server.publish(self.server.gate_topic(GATE, TopicKind.CONFIG), data, retain=True)


@pytest.fixture
async def lane_factory(
    tmp_path: Path, broker: Mosquitto, broker_accounts: dict[str, str]
) -> AsyncIterator[Callable[..., Any]]:
    """Build and start a lane; every part is stopped at the end of the test."""
    cleanups: list[Callable[[], Any]] = []

    async def make(
        policy: dict[str, Any] | None = None,
        trust: bool = True,
        clock: Clock | None = None,
        **sections: Any,
    ) -> Lane:
        site = TestSite(now=int(time.time()))
        server = FakeServer(
            broker.host,
            broker.port,
            broker_accounts["server"],
            site=site.site,
            control_key=site.control_key,
        )
        server.start()
        cleanups.append(server.stop)
        if trust:
            server.publish(server.site_topic(TopicKind.MANIFEST), site.manifest(1), retain=True)
            server.publish(server.site_topic(TopicKind.REVOCATIONS_FULL), site.full(1), retain=True)
            cfg = {"phone_check_resident": "never", "step_timeout_s": 4} | (policy or {})
            server.publish(
                server.gate_topic(GATE, TopicKind.CONFIG), site.config(GATE, 1, **cfg), retain=True
            )
        scanner = ScannerSim("grow-gm65", baud=9600, link=tmp_path / "scanner")
        thermo = ThermometerSim("gy-mcu90614", link=tmp_path / "thermo")
        scanner.start()
        thermo.start()
        cleanups.extend([scanner.stop, thermo.stop])
        settings = gate_settings(tmp_path, broker, broker_accounts[GATE], site, **sections)
        gate = await app.build(settings, clock or SystemClock())
        ready = asyncio.Event()
        task = asyncio.create_task(app.run(gate, ready=ready), name="gate-under-test")
        cleanups.append(lambda: _stop(task))
        await asyncio.wait_for(ready.wait(), 10)
        made = Lane(gate, site, server, scanner, thermo, broker)
        await made.until(lambda: gate.scanner.state == DeviceState.OK, 15)
        if trust:
            await made.until(lambda: gate.rt.trust.applied.config is not None, 15)
            if clock is None:  # the server's signed time vouched
                await made.until(lambda: gate.rt.clock_view().trusted, 15)
        return made

    yield make
    for cleanup in reversed(cleanups):
        result = cleanup()
        if asyncio.iscoroutine(result):
            await result


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(task, 15)


__all__ = ["GATE", "Lane", "msgspec"]
