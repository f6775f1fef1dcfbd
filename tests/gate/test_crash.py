"""kill -9 the gate daemon again and again during a storm of scans.

After every kill the outbox passes an integrity check; at the end every relay opening the
daemon reported has its event at the server, the server holds each event once, and the
gate's sequence numbers have no gap: nothing committed was lost, nothing was stored twice.
"""

from __future__ import annotations

import random
import re
import shlex
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from device.sim.scanner import ScannerSim
from device.sim.thermometer import ThermometerSim
from protocol.topics import TopicKind
from tests.support.fake_server import FakeServer
from tests.support.gate_toml import sim_lane_sections, write_gate_toml
from tests.support.mosquitto import Mosquitto
from tests.support.site import TestSite

pytestmark = [pytest.mark.broker, pytest.mark.slow]
ROUNDS = 30
GATE = "east-in"
OPENED = re.compile(r"relay open \d+ ms for event ([0-9a-f-]{36})")


class Daemon:
    """``gatepass-gate run`` as a child process; its log lines are collected in ``log``."""

    def __init__(self, config: Path, log: list[str]) -> None:
        exe = Path(sys.executable).parent / "gatepass-gate"
        self.proc = subprocess.Popen(
            [str(exe), "run", "--config", str(config)],
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert self.proc.stdout is not None
        assert self.proc.stderr is not None
        self.reader = threading.Thread(target=log.extend, args=(self.proc.stderr,), daemon=True)
        self.reader.start()
        assert self.proc.stdout.readline().strip() == "READY", "daemon did not start"

    def stop(self, sig: signal.Signals) -> int:
        """Send ``sig``, wait for the exit, close the pipes; return the exit code."""
        self.proc.send_signal(sig)
        code = self.proc.wait(15)
        self.reader.join(5)
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()
        return code


def storm(scanner: ScannerSim, site: TestSite, until: float) -> None:
    """Present a new pass every 150 ms until ``until``."""
    while time.monotonic() < until:
        scanner.command(f"present {shlex.quote(site.pass_text())} 0.1")
        time.sleep(0.15)


def outbox_seqs(db: Path) -> list[int]:
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        return [row[0] for row in conn.execute("SELECT seq FROM outbox ORDER BY seq")]


def test_kill_nine_during_a_storm(
    tmp_path: Path, broker: Mosquitto, broker_accounts: dict[str, str]
) -> None:
    site = TestSite(now=int(time.time()))
    server = FakeServer(
        broker.host,
        broker.port,
        broker_accounts["server"],
        site=site.site,
        control_key=site.control_key,
    )
    server.start()
    server.publish(server.site_topic(TopicKind.MANIFEST), site.manifest(1), retain=True)
    server.publish(server.site_topic(TopicKind.REVOCATIONS_FULL), site.full(1), retain=True)
    policy = {"temperature_required": False, "phone_check_resident": "never", "relay_pulse_ms": 200}
    server.publish(
        server.gate_topic(GATE, TopicKind.CONFIG), site.config(GATE, 1, **policy), retain=True
    )
    scanner = ScannerSim("grow-gm65", link=tmp_path / "scanner")
    thermo = ThermometerSim("gy-mcu90614", link=tmp_path / "thermo")
    scanner.start()
    thermo.start()
    sections = sim_lane_sections(
        tmp_path,
        site=site.site,
        gate=GATE,
        root_key=site.root_hex,
        host=broker.host,
        port=broker.port,
        password=broker_accounts[GATE],
    )
    config = write_gate_toml(tmp_path / "gate.toml", sections | {"policy": policy})
    store = tmp_path / "gate-data" / "gate.db"
    log: list[str] = []
    rng = random.Random(11)
    try:
        for _ in range(ROUNDS):
            daemon = Daemon(config, log)
            storm(scanner, site, time.monotonic() + rng.uniform(0.3, 1.2))
            daemon.stop(signal.SIGKILL)
            outbox_seqs(store)  # integrity after every kill
        daemon = Daemon(config, log)  # a last run drains what is left
        deadline = time.monotonic() + 60
        while outbox_seqs(store) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert daemon.stop(signal.SIGTERM) == 0, "\n".join(log[-40:])
    finally:
        scanner.stop()
        thermo.stop()
        server.stop()
    opened = {m.group(1) for line in log if (m := OPENED.search(line))}
    stored = {e.event_id for e in server.events}
    # alarms raised while the last run shut down (a device going away) wait for the next start
    left = outbox_seqs(store)
    seqs = sorted(e.seq for e in server.events) + left
    assert opened, "the storm opened the lane at least once"
    assert opened <= stored, f"{len(opened - stored)} relay openings without an event at the server"
    assert len(stored) == len(server.events)
    assert seqs == list(range(1, len(seqs) + 1)), "a seq was lost or stored twice"
    assert len(left) <= 3
