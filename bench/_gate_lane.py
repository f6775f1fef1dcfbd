"""A simulated lane for the gate benchmarks: mosquitto, stand-in server, pty simulators."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from device import app
from device.app import Gate
from device.config import validate
from device.hardware.clock import SystemClock
from device.sim.scanner import ScannerSim
from device.sim.thermometer import ThermometerSim
from protocol import topics
from protocol.keys import generate_ed25519
from protocol.topics import TopicKind
from tests.support.fake_server import FakeServer
from tests.support.mosquitto import Mosquitto, acl_text
from tests.support.site import TestSite

GATE = "east-in"
POLICY = {"temperature_required": False, "phone_check_resident": "never", "relay_pulse_ms": 200,
          "apb_minutes": 0, "apb_logical": False}  # fmt: skip


@dataclass
class BenchLane:
    """One lane under measurement."""

    site: TestSite
    server: FakeServer
    scanner: ScannerSim
    toml: dict[str, dict[str, Any]]
    gate: Gate | None = None
    _task: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def relay_pin(self) -> Any:
        assert self.gate is not None
        return self.gate.gpio.factory.pin(self.gate.rt.settings.pins.relay)

    async def start(self) -> None:
        """Build and run the gate in this process; return when its scanner is open."""
        self.gate = await app.build(validate(self.toml), SystemClock())
        ready = asyncio.Event()
        self._task = asyncio.create_task(app.run(self.gate, ready=ready), name="bench-gate")
        await asyncio.wait_for(ready.wait(), 10)
        await self.until(lambda: self.gate is not None and self.gate.scanner.state == "ok", 15)
        gate = self.gate
        await self.until(lambda: gate.rt.registry.applied.config is not None, 15)
        await self.until(lambda: gate.rt.clock_view().trusted, 15)  # the server vouched

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def until(self, check: Callable[[], Any], within: float = 10.0) -> None:
        """Poll ``check`` every 2 ms; latencies come from the pin's own change time, not this."""
        deadline = time.monotonic() + within
        while not check():
            if time.monotonic() > deadline:
                raise TimeoutError("bench lane: condition not reached")
            await asyncio.sleep(0.002)


@contextlib.asynccontextmanager
async def open_lane(
    tmp: Path, *, start: bool = True, in_process: bool = True
) -> AsyncIterator[BenchLane]:
    """A broker, a stand-in server with trust published, simulators, and (optionally) the gate."""
    accounts = {name: secrets.token_urlsafe(16) for name in ("server", GATE)}
    acl = acl_text({"server": topics.server_acl("gw01")}, topics.gate_acl("gw01"))
    # as the site's broker config does: room for a backlog, never a silent drop at 1,000
    broker = Mosquitto(
        tmp / "broker", accounts, acl, persistence=False, extra_conf="max_queued_messages 200000\n"
    )
    broker.start()
    site = TestSite(now=int(time.time()))
    server = FakeServer(broker.host, broker.port, accounts["server"], site=site.site)
    server.start()
    server.publish(server.site_topic(TopicKind.MANIFEST), site.manifest(1), retain=True)
    server.publish(server.site_topic(TopicKind.REVOCATIONS_FULL), site.full(1), retain=True)
    server.publish(
        server.gate_topic(GATE, TopicKind.CONFIG), site.config(GATE, 1, **POLICY), retain=True
    )
    scanner = ScannerSim("grow-gm65", link=tmp / "scanner")
    thermo = ThermometerSim("gy-mcu90614", link=tmp / "thermo")
    scanner.start()
    thermo.start()
    toml = {
        "gate": {"site": site.site, "id": GATE, "zone": 1, "direction": "in",
                 "data_dir": str(tmp / "gate-data"), "hardware": "sim"},
        "broker": {"host": broker.host, "port": broker.port, "username": GATE,
                   "password": accounts[GATE], "reconnect_max_s": 2.0},
        "trust": {"root_key": site.root_hex},
        "scanner": {"model": "grow-gm65", "port": str(tmp / "scanner")},
        "thermometer": {"model": "gy-mcu90614", "port": str(tmp / "thermo")},
        "policy": POLICY,
    }  # fmt: skip
    lane = BenchLane(site, server, scanner, toml)
    try:
        if start and in_process:
            await lane.start()
        yield lane
    finally:
        await lane.stop()
        scanner.stop()
        thermo.stop()
        server.stop()
        broker.kill()


def floor_ms(tmp: Path, rounds: int = 500) -> tuple[float, float]:
    """The floor of a decision, measured here: one Ed25519 verify plus one fsync (p50, p99)."""
    key = generate_ed25519()
    public, message = key.public_key(), os.urandom(150)
    signature = key.sign(message)
    path = tmp / "fsync-floor"
    samples = []
    with path.open("ab") as f:
        for _ in range(rounds):
            start = time.perf_counter()
            public.verify(signature, message)
            f.write(b"x" * 200)
            f.flush()
            os.fsync(f.fileno())
            samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return samples[len(samples) // 2], samples[int(len(samples) * 0.99)]
