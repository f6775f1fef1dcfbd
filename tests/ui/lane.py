"""A real lane behind the browser tests: the broker configuration and the gate's file made by the
``gatepass-server broker-config`` and ``gate add`` commands, mosquitto running that
configuration on a free loopback port, and ``gatepass-gate run`` on simulated scanner and
thermometer (ptys) and a simulated panel (gpiozero MockFactory pins) driven through its control
socket (device/sim/control.py)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tests.faults.daemon import Lane
from tests.support.mosquitto import Mosquitto, free_port

SERVER_CLI = Path(sys.executable).with_name("gatepass-server")
CLI_TIMEOUT_S = 60
CONTROL_TIMEOUT_S = 10


def server_cli(*args: str | Path) -> str:
    """Run a ``gatepass-server`` command as an operator would; its stdout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEPASS_")}
    done = subprocess.run(
        [str(SERVER_CLI), *map(str, args)],
        env=env,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, f"gatepass-server {args[:2]} failed:\n{done.stderr}"
    return done.stdout


def provision(data_dir: Path, root: Path, *, gate: str, zone: int, name: str) -> Mosquitto:
    """Write the broker's configuration and one entry lane's file (``root/<gate>.toml``); the
    broker is returned unstarted, on the port both files name."""
    port = free_port()
    conf = root / "brokerconf"
    server_cli(
        "broker-config",
        "--data",
        data_dir,
        "--out",
        conf,
        "--bind",
        "127.0.0.1",
        "--port",
        str(port),
    )
    server_cli(
        "gate",
        "add",
        gate,
        "--data",
        data_dir,
        "--zone",
        str(zone),
        "--direction",
        "in",
        "--name",
        name,
        "--broker-host",
        "127.0.0.1",
        "--broker-port",
        str(port),
        "--hardware",
        "sim",
        "--out",
        root / f"{gate}.toml",
    )
    broker = Mosquitto.from_project(root / "broker", conf)
    broker.port = port
    return broker


def start_lane(gate_file: Path, root: Path) -> Lane:
    """The gate daemon on simulators, with its panel's control socket."""
    lane = Lane.from_gate_file(gate_file, root)
    lane.control = root / "panel.sock"
    lane.start()
    return lane


def panel(lane: Lane, line: str) -> str:
    """One command to the simulated panel (``relay``, ``opened``, ``leds``, ``keys 1234``...);
    its answer without the ``ok``."""
    assert lane.control is not None
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(CONTROL_TIMEOUT_S)
        s.connect(str(lane.control))
        s.sendall(line.encode() + b"\n")
        answer = s.makefile("r", encoding="utf-8").readline().strip()
    assert answer.startswith("ok"), f"{line!r}: {answer}"
    return answer.removeprefix("ok").strip()


def wait_for(check: Callable[[], bool], within: float, what: str) -> None:
    """Poll ``check`` every 50 ms until it holds; fail with ``what`` after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not within {within} s: {what}")
        time.sleep(0.05)
