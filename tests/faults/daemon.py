"""The real gate daemon (``gatepass-gate run``) with its scanner and thermometer simulators, on
a config written by ``gatepass-server gate add`` (plus the tuning a test needs)."""

from __future__ import annotations

import shlex
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from device.sim.scanner import ScannerSim
from device.sim.thermometer import ThermometerSim
from tests.support.gate_toml import write_gate_toml

GATE_CLI = Path(sys.executable).with_name("gatepass-gate")


@dataclass
class Lane:
    """One gate: its simulators, its daemon process, and the daemon's log lines."""

    gate: str
    config: Path
    root: Path
    log: list[str] = field(default_factory=list)
    proc: subprocess.Popen[str] | None = None
    control: Path | None = None  # the simulated panel's control socket (device/sim/control.py)

    @classmethod
    def from_gate_file(
        cls, gate_file: Path, root: Path, broker_port: int | None = None, quick: bool = True
    ) -> Lane:
        """Point the provisioned file at simulators and (``quick``) make reconnects and resends
        quick for the test; and at another broker port, a proxy's, if given."""
        raw = tomllib.loads(gate_file.read_text())
        if broker_port is not None:
            raw["broker"]["port"] = broker_port
        raw["gate"]["data_dir"] = str(root / "data")
        raw["scanner"]["port"] = str(root / "scanner")
        raw["thermometer"]["port"] = str(root / "thermo")
        if quick:
            raw["broker"]["reconnect_max_s"] = 2.0
            raw["outbox"] = {"resend_after_s": 2.0}
        root.mkdir(parents=True, exist_ok=True)
        return cls(
            gate=raw["gate"]["id"], config=write_gate_toml(root / "gate.toml", raw), root=root
        )

    def start(self) -> None:
        self.scanner = ScannerSim("grow-gm65", link=self.root / "scanner")
        self.thermo = ThermometerSim("gy-mcu90614", link=self.root / "thermo")
        self.scanner.start()
        self.thermo.start()
        self.spawn()

    def spawn(self) -> None:
        """Start the daemon process (the simulators already running) and wait for READY."""
        extra = [] if self.control is None else ["--sim-control", str(self.control)]
        argv = [str(GATE_CLI), "run", "--config", str(self.config), *extra]
        self.proc = subprocess.Popen(
            argv, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        assert self.proc.stdout is not None
        assert self.proc.stderr is not None
        self.reader = threading.Thread(
            target=self.log.extend, args=(self.proc.stderr,), daemon=True
        )
        self.reader.start()
        assert self.proc.stdout.readline().strip() == "READY", "\n".join(self.log[-20:])

    def wait_configured(self, within: float = 15.0) -> None:
        """Until the daemon has applied its signed config: a brand-new gate decides by its
        file's defaults before that (temperature required, so a scan waits for a reading)."""
        deadline = time.monotonic() + within
        while not any("applied config version" in line for line in self.log):
            if time.monotonic() > deadline:
                raise TimeoutError("\n".join(self.log[-20:]))
            time.sleep(0.02)

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int | None:
        """Stop the daemon (SIGKILL if it does not exit within 20 s) and the simulators."""
        code = None
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                code = self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                code = self.proc.wait(10)
        if self.proc is not None:
            self.reader.join(5)
            for pipe in (self.proc.stdout, self.proc.stderr):
                if pipe is not None:
                    pipe.close()
        self.scanner.stop()
        self.thermo.stop()
        return code

    def kill(self) -> None:
        """SIGKILL the daemon only (a crash or a power cut of the Pi): the simulators stay."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)
        self.reader.join(5)
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()

    def storm(self, passes: list[str], stop: threading.Event) -> int:
        """Present the passes in turn every 150 ms until ``stop``; returns how many."""
        shown = 0
        while not stop.is_set():
            self.scanner.command(f"present {shlex.quote(passes[shown % len(passes)])} 0.1")
            shown += 1
            stop.wait(0.15)
        return shown

    def outbox(self) -> tuple[int, int]:
        """(rows still in the outbox, the last seq the gate committed)."""
        with sqlite3.connect(self.root / "data" / "gate.db", timeout=5) as conn:
            depth = conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
            row = conn.execute("SELECT value FROM meta WHERE key = 'next_seq'").fetchone()
        return int(depth), int(row[0]) - 1 if row else 0
