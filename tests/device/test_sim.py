"""The simulators as the manuals describe the modules, seen from a plain pyserial host."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
import serial

from device.hardware.codecs import scanner as grow
from device.hardware.codecs import thermometer as gy
from device.hardware.drivers.base import open_link
from device.hardware.errors import PortError
from device.sim.scanner import ScannerSim
from device.sim.thermometer import ThermometerSim


def collect(port: serial.Serial, within: float) -> bytes:
    """Everything the simulator sends within ``within`` seconds (bounded pty polling)."""
    out = b""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        out += port.read(64)
    return out


@pytest.fixture
def host(link: Path) -> Callable[[], serial.Serial]:
    opened: list[serial.Serial] = []

    def make() -> serial.Serial:
        port = serial.serial_for_url(str(link), baudrate=9600, timeout=0.02)
        opened.append(port)
        return port

    yield make  # type: ignore[misc]
    for port in opened:
        port.close()


def test_scanner_is_silent_on_a_bad_crc_and_accepts_abcd(
    scanner_sim: Callable[..., ScannerSim], host: Callable[[], serial.Serial]
) -> None:
    scanner_sim("grow-gm65")
    port = host()
    port.write(bytes.fromhex("7E 00 08 01 00 0A 3E 11 22"))
    assert collect(port, 0.3) == b""
    port.write(bytes.fromhex("7E 00 07 01 00 13 01 AB CD"))
    assert collect(port, 0.3) == grow.encode_response(b"\x85")


def test_scanner_drops_a_partial_command_after_400ms(
    scanner_sim: Callable[..., ScannerSim], host: Callable[[], serial.Serial]
) -> None:
    scanner_sim("grow-gm65")
    port = host()
    port.write(bytes.fromhex("7E 00 07 01"))
    time.sleep(0.5)  # the gap under test, not synchronisation
    port.write(bytes.fromhex("00 00 01 00 00") + grow.read_zone(0))
    assert collect(port, 0.3) == grow.encode_response(b"\xd4")


@pytest.mark.parametrize(("model", "answers"), [("grow-gm65", False), ("grow-gm861", True)])
def test_heartbeat_support_per_model(
    scanner_sim: Callable[..., ScannerSim],
    host: Callable[[], serial.Serial],
    model: str,
    answers: bool,
) -> None:
    scanner_sim(model)
    port = host()
    port.write(grow.heartbeat())
    assert collect(port, 0.3) == (grow.HEARTBEAT_REPLY if answers else b"")


def test_write_is_volatile_until_saved(
    scanner_sim: Callable[..., ScannerSim], host: Callable[[], serial.Serial]
) -> None:
    sim = scanner_sim("grow-gm65")
    port = host()
    port.write(grow.write_zone(0x13, b"\x8f"))
    assert collect(port, 0.2) == grow.ACK_OK
    sim.command("power-cycle")
    assert sim.zones[0x13] == 0x85
    port.close()
    port = host()
    port.write(grow.write_zone(0x13, b"\x8f"))
    collect(port, 0.2)
    port.write(grow.save_zones())
    assert collect(port, 0.2) == grow.ACK_OK
    sim.command("power-cycle")
    assert sim.zones[0x13] == 0x8F


def test_thermometer_query_answers_one_frame(
    thermo_sim: Callable[..., ThermometerSim], host: Callable[[], serial.Serial]
) -> None:
    thermo_sim(autostart=False)
    port = host()
    assert collect(port, 0.25) == b""  # no auto-output at power-up
    port.write(gy.encode_command(gy.Command.QUERY))
    frames = gy.FrameDecoder().feed(collect(port, 0.3), 0.0)
    assert len(frames) == 1
    assert isinstance(frames[0], gy.TemperatureFrame)


def test_two_processes_cannot_share_a_port(
    scanner_sim: Callable[..., ScannerSim], link: Path
) -> None:
    scanner_sim("line")
    first = open_link(str(link), 9600)
    try:
        with pytest.raises(PortError, match="cannot open"):
            open_link(str(link), 9600)
    finally:
        first.close()


def test_commands_answer_one_line_and_never_raise() -> None:
    sim = ScannerSim("grow-gm65")
    assert sim.command("zone 0x13") == "ok 0013=85"
    assert sim.command("zone 999").startswith("error")
    assert sim.command("glue maybe").startswith("error")
    assert sim.command('present "unterminated').startswith("error")
    assert sim.command("nosuch").startswith("error unknown command")
    assert "present" in sim.command("help")
