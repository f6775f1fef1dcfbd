"""A real staff-UI server for the browser tests: a site on disk, seeded through the services,
served by ``python -m server run`` (uvicorn) on a free loopback port (with its MQTT link when
given a broker, tests/ui/lane.py), and Debian's Chromium driven by Playwright (never a
downloaded browser)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, sync_playwright

from server.clock import SystemClock
from server.config import ServerSettings, load_settings
from server.services.context import CLI_ACTOR, Env
from server.services.passes import issuing as passes
from server.services.registry import places as registry
from server.services.registry import residents
from server.services.registry.site import initialise
from server.store.db import Database
from tests.server.conftest import ready_accounts
from tests.ui.data import INJECTIONS, add_event

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
READY_TIMEOUT_S = 30


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveSite:
    """The data directory, its settings and a way to run service calls against it."""

    settings: ServerSettings

    def run(self, work: Callable[[Env], Awaitable[Any]]) -> Any:
        """Run ``work(env)`` on a fresh database handle (the server process has its own), in
        a thread of its own so that it never meets the loop of Playwright's sync API."""

        async def go() -> Any:
            env = Env(
                db=Database(self.settings.db_url), settings=self.settings, clock=SystemClock()
            )
            try:
                return await work(env)
            finally:
                await env.db.close()

        with ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, go()).result()


LANES = (
    ("east-in", 1, "东门入口", "in"),
    ("east-out", 1, "东门出口", "out"),
    ("west-in", 2, "西门入口", "in"),
)


async def seed_site(env: Env, *, provisioned: tuple[str, ...] = ()) -> dict[str, Any]:
    """Two zones, three lanes (except those ``gate add`` registers), households with ordinary
    and hostile names, a pass, an observation, and a day and a half of gate events for the
    dashboard."""
    await initialise(
        env, site="gw01", name="Garden", zones=["东区", "西区"], admin="admin", root_passphrase=None
    )
    await ready_accounts(env)
    for gate_id, zone, name, direction in LANES:
        if gate_id in provisioned:
            continue
        await registry.save_gate(
            env,
            CLI_ACTOR,
            gate_id,
            registry.GateFields(zone_id=zone, name=name, direction=direction),
            create=True,
        )
    h1 = await registry.save_household(
        env,
        CLI_ACTOR,
        None,
        registry.HouseholdFields(zone_id=1, building="3", unit="2", room="201"),
    )
    h2 = await registry.save_household(
        env,
        CLI_ACTOR,
        None,
        registry.HouseholdFields(zone_id=2, building="9", unit="1", room="101"),
    )
    zhang = await residents.save(
        env,
        CLI_ACTOR,
        None,
        residents.ResidentFields(
            household_id=h1.id, name="张三", phone="13800138000", role="owner"
        ),
    )
    wang = await residents.save(
        env,
        CLI_ACTOR,
        None,
        residents.ResidentFields(
            household_id=h1.id, name="王小明", phone="13900139001", role="family"
        ),
    )
    for i, name in enumerate(INJECTIONS):
        await residents.save(
            env,
            CLI_ACTOR,
            None,
            residents.ResidentFields(
                household_id=h2.id, name=name, phone=f"1370013{7000 + i}", role="tenant", note=name
            ),
        )
    now = env.clock.now()
    await residents.set_observation(
        env,
        CLI_ACTOR,
        wang.id,
        status="home_observation",
        start=now - 3 * 86400,
        end=now + 11 * 86400,
    )
    card = await passes.issue_resident(env, CLI_ACTOR, zhang.id)
    await seed_events(env, card.ref, now)
    return {
        "h1": h1.id,
        "h2": h2.id,
        "zhang": zhang.id,
        "wang": wang.id,
        "ref": card.ref,
        "text": card.text,
    }


async def seed_events(env: Env, ref: str, now: int) -> None:
    """Entries and exits over the last 30 hours, with temperatures, so the charts have data."""
    for k in range(60):
        at_ms = (now - 30 * 3600 + k * 1790) * 1000
        gate = "east-out" if k % 5 == 4 else "east-in"
        await add_event(
            env,
            gate=gate,
            at_ms=at_ms,
            granted=k % 9 != 8,
            reason="ok" if k % 9 != 8 else "expired",
            pass_ref=ref,
            body_c=round(36.1 + (k % 7) * 0.15, 1),
        )


class ServerProcess:
    """``python -m server run`` on a free port; stopped with SIGTERM (SIGKILL if it hangs)."""

    def __init__(
        self, settings: ServerSettings, log: Path, extra_env: dict[str, str] | None = None
    ) -> None:
        self.settings = settings
        self.extra_env = extra_env or {}  # GATEPASS_MQTT_* to reach a broker
        self.port = free_port()
        self.url = f"http://localhost:{self.port}"
        self.log = log.open("ab")
        self.start()

    def start(self) -> None:
        """Start the server process (again) on the same port."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("GATEPASS_")}
        env |= {"GATEPASS_RETENTION_INTERVAL_S": "0", "PYTHONUNBUFFERED": "1"} | self.extra_env
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "server",
                "run",
                "--data",
                str(self.settings.data_dir),
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self) -> None:
        """Poll /healthz until the server answers (bounded)."""
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.05)
        raise TimeoutError("server did not become ready")

    def stop(self) -> None:
        """Stop the server (its live streams hold connections, so do not wait long)."""
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    def close(self) -> None:
        """Stop the server for good."""
        self.stop()
        self.log.close()


def new_site(data_dir: Path) -> LiveSite:
    """Settings for a site in ``data_dir`` as the server process will load them."""
    data_dir.mkdir(mode=0o700)
    return LiveSite(load_settings(data_dir, env={}))


@contextlib.contextmanager
def serving(
    site: LiveSite, log: Path, extra_env: dict[str, str] | None = None
) -> Iterator[ServerProcess]:
    """A server process for ``site``, answering; stopped for good on the way out."""
    server = ServerProcess(site.settings, log, extra_env)
    try:
        server.wait_ready()
        yield server
    finally:
        server.close()


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless, driven by Playwright's sync API."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
