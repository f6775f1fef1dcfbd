"""``gatepass-sim``, ``gatepass-gate probe`` and ``status`` as a person (or an outside check)
runs them."""

from __future__ import annotations

import json
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

from device.hardware.errors import UnknownModel
from device.hardware.factory import build_scanner, build_thermometer
from tests.support.gate_toml import sim_lane_sections, write_gate_toml

BIN = Path(sys.executable).parent
READING_KEYS = {"event", "t", "model", "object_c", "ambient_c", "offset_c", "body_c"}


def read_line(proc: subprocess.Popen[str], within: float = 5.0) -> str:
    """One stdout line; a silent process is caught by select's bound, not a hang."""
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], within)
    assert ready, "no line in time"
    line = proc.stdout.readline()
    assert line, "the process ended"
    return line.rstrip("\n")


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen[str]]]:
    made: list[subprocess.Popen[str]] = []
    yield made
    for proc in made:
        if proc.poll() is None:
            proc.kill()
        proc.wait(5)
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                pipe.close()


def start(procs: list[subprocess.Popen[str]], *args: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [str(BIN / args[0]), *args[1:]],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        bufsize=1,
    )
    procs.append(proc)
    return proc


def send(proc: subprocess.Popen[str], line: str) -> str:
    assert proc.stdin is not None
    proc.stdin.write(line + "\n")
    proc.stdin.flush()
    return read_line(proc)


def test_thermometer_sim_and_probe(procs: list[subprocess.Popen[str]], tmp_path: Path) -> None:
    link = tmp_path / "thermo"
    sim = start(
        procs, "gatepass-sim", "thermometer", "-i", "--model", "gy-mcu90615", "--link", str(link)
    )
    first = read_line(sim)
    assert first.startswith("PTY /dev/pts/")
    assert os.readlink(link) == first.split()[1]
    assert send(sim, "person 34.6 5") == "ok person 34.6 C for 5 s"
    assert send(sim, "bogus").startswith("error unknown command")
    probe = start(
        procs,
        "gatepass-gate",
        "probe",
        "thermometer",
        "--port",
        str(link),
        "--model",
        "gy-mcu90615",
        "--offset",
        "1.2",
        "--duration",
        "6",
    )
    state = json.loads(read_line(probe))
    assert state["event"] == "state"
    assert state["state"] == "ok"
    assert "115200 baud" in state["detail"]
    reading = json.loads(read_line(probe))
    assert set(reading) == READING_KEYS
    assert reading["body_c"] == pytest.approx(reading["object_c"] + 1.2)
    send(sim, "corrupt 1")
    rejected = next(
        e for e in (json.loads(read_line(probe)) for _ in range(30)) if e["event"] == "rejected"
    )
    assert rejected["reason"] == "bad_checksum"
    assert rejected["raw"].startswith("5a5a45")
    probe.send_signal(signal.SIGINT)
    assert probe.wait(15) == 0
    assert sim.stdin is not None
    sim.stdin.write("quit\n")
    sim.stdin.close()
    assert sim.wait(5) == 0
    assert not link.exists()  # unplugged on exit: the udev-like name goes away


def test_scanner_sim_probe_and_control_socket(
    procs: list[subprocess.Popen[str]], tmp_path: Path
) -> None:
    link, control = tmp_path / "scanner", tmp_path / "control.sock"
    sim = start(
        procs,
        "gatepass-sim",
        "scanner",
        "--interactive",
        "--model",
        "grow-gm65",
        "--link",
        str(link),
        "--control",
        str(control),
    )
    assert read_line(sim).startswith("PTY /dev/pts/")
    probe = start(
        procs,
        "gatepass-gate",
        "probe",
        "scanner",
        "--port",
        str(link),
        "--model",
        "grow-gm65",
        "--duration",
        "6",
    )
    state = json.loads(read_line(probe))
    assert state["state"] == "ok"
    assert "zones" in state["detail"]
    deadline = time.monotonic() + 3
    while not control.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(str(control))
        sock.sendall(b"present PG1:HELLO-WORLD 0.5\n")
        assert sock.recv(100).startswith(b"ok presenting")
    assert json.loads(read_line(probe)) == {
        "event": "scan",
        "t": pytest.approx(1, abs=5),
        "payload": "PG1:HELLO-WORLD",
        "length": 15,
    }
    send(sim, "bytes 00ff1b0d")
    assert json.loads(read_line(probe))["event"] == "scan_rejected"
    send(sim, "unplug")
    offline = json.loads(read_line(probe))
    assert offline["event"] == "state"
    assert offline["state"] == "offline"
    probe.send_signal(signal.SIGINT)
    assert probe.wait(15) == 0


def test_probe_refuses_a_model_of_the_other_kind() -> None:
    result = subprocess.run(
        [
            str(BIN / "gatepass-gate"),
            "probe",
            "scanner",
            "--port",
            "loop://",
            "--model",
            "gy-mcu90614",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "not a scanner model" in result.stderr


def test_factory_refuses_unknown_models() -> None:
    with pytest.raises(UnknownModel, match="known: gy-mcu90614"):
        build_thermometer("mlx-unknown", "loop://")
    with pytest.raises(UnknownModel, match="grow-gm65"):
        build_scanner("honeywell", "loop://")


def test_gate_status_says_why_when_there_is_no_store(tmp_path: Path) -> None:
    """``gatepass-gate status`` never creates a store: a gate that never ran has none to show."""
    sections = sim_lane_sections(
        tmp_path,
        site="gw01",
        gate="east-in",
        root_key="00" * 32,
        host="127.0.0.1",
        port=1883,
        password="x" * 16,
    )
    config = write_gate_toml(tmp_path / "gate.toml", sections)
    done = subprocess.run(
        [str(BIN / "gatepass-gate"), "status", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 1
    assert "no gate store at" in done.stderr
    assert not (tmp_path / "gate-data" / "gate.db").exists()
