"""Issue 15, item 5: every process stops on SIGTERM with exit 0 and no traceback, whatever is
connected: the gate daemon with a client on its simulated lane's control socket, both
simulators with a client on theirs, and the server with an HTTP connection held open.

Each runs as a real subprocess (the console scripts, as systemd or the demo starts them); the
client stays connected through the SIGTERM. No broker: the gate and the server keep trying to
reach one, which is logged as a warning at most.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from device.sim.scanner import ScannerSim
from device.sim.thermometer import ThermometerSim
from tests.support.gate_toml import sim_lane_sections, write_gate_toml
from tests.support.site import TestSite

BIN = Path(sys.executable).parent
STOP_WITHIN_S = 20.0


def first_line(proc: subprocess.Popen[str], within: float = 15.0) -> str:
    """The process's first stdout line (bounded by select, never a hang)."""
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], within)
    assert ready, "no line in time"
    return proc.stdout.readline().strip()


def stop(proc: subprocess.Popen[str]) -> tuple[int, str]:
    """SIGTERM, then the exit status and everything the process wrote (stdout and stderr)."""
    proc.send_signal(signal.SIGTERM)
    try:
        out, err = proc.communicate(timeout=STOP_WITHIN_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"no exit within {STOP_WITHIN_S} s after SIGTERM:\n{err}") from None
    return proc.returncode, out + err


def assert_clean(code: int, output: str) -> None:
    assert code == 0, output
    assert "Traceback" not in output, output
    assert "ERROR" not in output, output


@contextlib.contextmanager
def connected(path: Path, command: str) -> Iterator[socket.socket]:
    """A control client that has had an answer and stays connected."""
    deadline = time.monotonic() + 10
    while not path.exists():
        assert time.monotonic() < deadline, f"no control socket at {path}"
        time.sleep(0.05)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(str(path))
        sock.sendall(command.encode() + b"\n")
        assert sock.recv(200).startswith(b"ok"), command
        yield sock


def spawn(argv: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    pipe = subprocess.PIPE
    return subprocess.Popen(argv, stdin=pipe, stdout=pipe, stderr=pipe, text=True, env=env)


@pytest.mark.parametrize("device", ["scanner", "thermometer"])
def test_simulator_stops_cleanly_with_a_control_client(tmp_path: Path, device: str) -> None:
    control = tmp_path / "control.sock"
    proc = spawn([str(BIN / "gatepass-sim"), device, "--control", str(control)])
    try:
        assert first_line(proc).startswith("PTY "), device
        with connected(control, "help"):
            code, output = stop(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert_clean(code, output)


def test_gate_stops_cleanly_with_a_lane_control_client(tmp_path: Path) -> None:
    site = TestSite(now=int(time.time()))
    raw = sim_lane_sections(
        tmp_path,
        site=site.site,
        gate="east-in",
        root_key=site.root_hex,
        host="127.0.0.1",
        port=9,  # no broker: the gate keeps trying (a warning), and stops all the same
        password="not-used-here",
    )
    config = write_gate_toml(tmp_path / "gate.toml", raw)
    scanner = ScannerSim("grow-gm65", link=tmp_path / "scanner")
    thermo = ThermometerSim("gy-mcu90614", link=tmp_path / "thermo")
    scanner.start()
    thermo.start()
    control = tmp_path / "lane.sock"
    argv = [str(BIN / "gatepass-gate"), "run", "--config", str(config)]
    proc = spawn([*argv, "--sim-control", str(control)])
    try:
        assert first_line(proc) == "READY"
        with connected(control, "relay"):
            code, output = stop(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        scanner.stop()
        thermo.stop()
    assert_clean(code, output)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_server_stops_cleanly_with_a_client_connected(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "GATEPASS_DATA": str(tmp_path / "data"),
        "GATEPASS_ROOT_PASSPHRASE": "a passphrase for this test only",
        "GATEPASS_RETENTION_INTERVAL_S": "0",
    }
    server = str(BIN / "gatepass-server")
    init = [server, "init", "--site", "gw01", "--zone", "east"]
    made = subprocess.run(init, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert made.returncode == 0, made.stderr
    del env["GATEPASS_ROOT_PASSPHRASE"]  # the running server refuses to hold it
    port = free_port()
    proc = spawn([server, "run", "--port", str(port)], env=env)
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            assert proc.poll() is None, "the server ended before it listened"
            assert time.monotonic() < deadline, "the server never listened"
            time.sleep(0.1)
        with socket.create_connection(("127.0.0.1", port), 5) as client:
            client.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
            assert client.recv(200).startswith(b"HTTP/1.1 200"), "no answer"
            client.sendall(b"GET /healthz HTTP/1.1\r\n")  # a request half sent, kept open
            code, output = stop(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert "Application shutdown complete" in output, output
    assert_clean(code, output)
