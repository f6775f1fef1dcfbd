"""A whole site for link tests: server data, the project's broker config, provisioned gates.

Built with the same code paths as ``gatepass-server init``, ``broker-config`` and ``gate add``;
the broker runs that generated configuration (tests.support.mosquitto.Mosquitto.from_project).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import tomllib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from protocol.messages import LaneDirection
from server.config import ServerSettings, load_settings
from server.link.broker_config import BrokerOptions, write_broker_config
from server.link.session import ServerLink
from server.services.context import CLI_ACTOR, Env
from server.services.gates.gate_file import Hardware
from server.services.gates.provisioning import BrokerAddress, add_gate
from server.services.live import Hub
from server.services.registry.site import initialise
from server.store.db import Database
from tests.faults.emulator import GateEmulator
from tests.support.mosquitto import Mosquitto, free_port

SITE = "gw01"
GATES = {"east-in": (1, LaneDirection.IN), "east-out": (1, LaneDirection.OUT)}


@dataclass
class MovableClock:
    """Real time at the start, moved by hand (the monitor's time-based alerts)."""

    t: int = field(default_factory=lambda: int(time.time()))

    def now(self) -> int:
        return self.t

    def advance(self, seconds: int) -> None:
        self.t += seconds


@dataclass
class LinkSite:
    """Paths, settings, the broker and each gate's password and file."""

    root: Path
    settings: ServerSettings
    clock: MovableClock
    broker: Mosquitto
    passwords: dict[str, str]
    root_hex: str

    def env(self, hub: Hub | None = None) -> Env:
        return Env(
            db=Database(self.settings.db_url),
            settings=self.settings,
            clock=self.clock,
            hub=hub or Hub(),
        )

    def gate(self, gate: str, **kw: Any) -> GateEmulator:
        lane = GATES.get(gate, (1, LaneDirection.IN))[1]
        return GateEmulator(
            site=SITE,
            gate=gate,
            lane=lane,
            password=self.passwords[gate],
            host="127.0.0.1",
            port=self.broker.port,
            root_hex=self.root_hex,
            data_dir=self.root / "gates" / gate,
            **kw,
        )

    @property
    def config_dir(self) -> Path:
        return self.root / "brokerconf"

    def gate_file(self, gate: str) -> Path:
        return self.root / "gates" / f"{gate}.toml"


def settings_for(data: Path, port: int, **overrides: Any) -> ServerSettings:
    values = {"cookie_secure": False, "retention_interval_s": 0, "mqtt_host": "127.0.0.1"}
    return load_settings(data, env={}, mqtt_port=port, **(values | overrides))


async def provision(env: Env, root: Path, gate: str, zone: int, lane: LaneDirection) -> Path:
    return await add_gate(
        env,
        CLI_ACTOR,
        gate=gate,
        zone=str(zone),
        direction=lane,
        name=None,
        broker=BrokerAddress("127.0.0.1", env.settings.mqtt_port),
        hardware=Hardware(hardware="sim", data_dir=str(root / "gates" / gate)),
        out=root / "gates" / f"{gate}.toml",
    )


def read_gate_file(path: Path) -> dict[str, Any]:
    return tomllib.loads(path.read_text())


async def build(
    root: Path, gates: dict[str, tuple[int, LaneDirection]] = GATES, **settings: Any
) -> LinkSite:
    """Init a site, write the broker config, add gates; the broker is not started yet."""
    port = free_port()
    config = settings_for(root / "data", port, **settings)
    config.data_dir.mkdir(parents=True)
    clock = MovableClock()
    env = Env(db=Database(config.db_url), settings=config, clock=clock)
    try:
        await initialise(
            env,
            site=SITE,
            name="Garden",
            zones=["east", "west"],
            admin="admin",
            root_passphrase=None,
        )
        await write_broker_config(env, BrokerOptions(out=root / "brokerconf", port=port))
        files = {g: await provision(env, root, g, zone, lane) for g, (zone, lane) in gates.items()}
    finally:
        await env.db.close()
    parsed = {g: read_gate_file(f) for g, f in files.items()}
    broker = Mosquitto.from_project(root / "broker", root / "brokerconf")
    broker.port = port
    root_hex = next(iter(parsed.values()))["trust"]["root_key"] if parsed else ""
    passwords = {g: p["broker"]["password"] for g, p in parsed.items()}
    return LinkSite(root, config, clock, broker, passwords, root_hex)


@contextlib.asynccontextmanager
async def running_link(site: LinkSite, hub: Hub | None = None) -> AsyncIterator[ServerLink]:
    """The server's MQTT link, connected, on a fresh database handle."""
    env = site.env(hub)
    link = await ServerLink.from_env(env)
    assert link is not None
    await link.start()
    try:
        await asyncio.wait_for(link.mqtt.subscribed.wait(), 10)  # first session: SUBACK first
        yield link
    finally:
        await link.stop()
        await env.db.close()


async def until(
    inbox: asyncio.Queue[dict[str, Any]],
    wanted: Callable[[dict[str, Any]], bool],
    within: float = 10,
) -> dict[str, Any]:
    """The first live notice (server.services.live) that ``wanted`` accepts."""
    async with asyncio.timeout(within):
        while True:
            notice = await inbox.get()
            if wanted(notice):
                return notice


@contextlib.asynccontextmanager
async def running_gates(
    site: LinkSite, *names: str, **kw: Any
) -> AsyncIterator[list[GateEmulator]]:
    """Emulated gates, started and connected; stopped cleanly at the end."""
    gates = [site.gate(n, **kw) for n in names]
    for g in gates:
        await g.start()
    try:
        for g in gates:
            await asyncio.wait_for(g.link.connected.wait(), 10)
        yield gates
    finally:
        for g in gates:
            await g.stop()
