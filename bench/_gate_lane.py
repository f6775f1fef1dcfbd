"""A simulated lane for the gate benchmarks: mosquitto, stand-in server, pty simulators."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from device import app
from device.app import Gate
from device.config import validate
from device.hardware.clock import SystemClock
from protocol import topics
from protocol.keys import generate_ed25519
from protocol.topics import TopicKind
from tests.support.fake_server import FakeServer
from tests.support.gate_toml import sim_lane_sections
from tests.support.mosquitto import Mosquitto, acl_text
from tests.support.site import TestSite

GATE = "east-in"
POLICY: dict[str, Any] = {
    "temperature_required": False,
    "phone_check_resident": "never",
    "relay_pulse_ms": 200,
    "apb_minutes": 0,
    "apb_logical": False,
}


class SimProcess:
    """A ``gatepass-sim`` simulator in its own process (so its 5 ms tick loop does not compete
    with the gate for the interpreter), driven line by line over stdin/stdout."""

    def __init__(self, kind: str, model: str, link: Path) -> None:
        exe = Path(sys.executable).parent / "gatepass-sim"
        self.proc = subprocess.Popen(
            [str(exe), kind, "--interactive", "--model", model, "--link", str(link)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline().startswith("PTY ")

    def command(self, line: str) -> str:
        """Send one command and return the simulator's one-line answer."""
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("quit\n")
        self.proc.stdin.close()
        self.proc.wait(10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@dataclass
class BenchLane:
    """One lane under measurement."""

    site: TestSite
    server: FakeServer
    scanner: SimProcess
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
        await self.until(lambda: gate.rt.trust.applied.config is not None, 15)
        await self.until(lambda: gate.rt.clock_view().trusted, 15)

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
    server = FakeServer(
        broker.host, broker.port, accounts["server"], site=site.site, control_key=site.control_key
    )
    server.start()
    server.publish(server.site_topic(TopicKind.MANIFEST), site.manifest(1), retain=True)
    server.publish(server.site_topic(TopicKind.REVOCATIONS_FULL), site.full(1), retain=True)
    server.publish(
        server.gate_topic(GATE, TopicKind.CONFIG), site.config(GATE, 1, **POLICY), retain=True
    )
    scanner = SimProcess("scanner", "grow-gm65", tmp / "scanner")
    thermo = SimProcess("thermometer", "gy-mcu90614", tmp / "thermo")
    toml = sim_lane_sections(
        tmp,
        site=site.site,
        gate=GATE,
        root_key=site.root_hex,
        host=broker.host,
        port=broker.port,
        password=accounts[GATE],
    )
    toml["policy"] = POLICY
    # The lane's clock is vouched for by a battery-backed RTC, as a Pi with an RTC HAT has: a
    # signed time answer would do too, but a gate starting with a 100,000-event outbox gets it
    # only after its backlog (the request queues behind the events on the same connection), and
    # the simulated lane's OS-sync port says "not synchronised" (os_sync = none), so without a
    # trusted clock the lane asks for phone digits and the scans below never open the relay.
    toml["clock"] = {**toml.get("clock", {}), "rtc": True}
    lane = BenchLane(site, server, scanner, toml)
    try:
        if start and in_process:
            await lane.start()
        yield lane
    finally:
        await lane.stop()
        scanner.stop()
        thermo.stop()
        with contextlib.suppress(Exception):  # the drain benchmark stopped it already
            server.stop()
        broker.kill()


class Floor:
    """The floor of a decision, measured here: one Ed25519 verify plus one fsync. Sampled
    between decisions, so a disk that stalls during the run shows in the floor too."""

    def __init__(self, path: Path) -> None:
        key = generate_ed25519()
        self.public, self.message = key.public_key(), os.urandom(150)
        self.signature = key.sign(self.message)
        self.file = path.open("ab")
        self.samples: list[float] = []

    def sample(self) -> None:
        """One measurement, in ms (blocks the caller for about a third of a millisecond)."""
        start = time.perf_counter()
        self.public.verify(self.signature, self.message)
        self.file.write(b"x" * 200)
        self.file.flush()
        os.fsync(self.file.fileno())
        self.samples.append((time.perf_counter() - start) * 1000)

    def text(self) -> str:
        """p50 / p99 of the samples, for the benchmark table."""
        ordered = sorted(self.samples)
        p50, p99 = ordered[len(ordered) // 2], ordered[int(len(ordered) * 0.99)]
        return f"floor p50 {p50:.2f} / p99 {p99:.2f} ms (1 Ed25519 verify + 1 fsync, in between)"

    def close(self) -> None:
        self.file.close()
