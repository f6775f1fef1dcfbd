"""The demo's parts that run in a second: the register, the cut proxy, ``gatepass-sim send``."""

from __future__ import annotations

import asyncio
import csv
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deploy.demo.proxy import CutProxy
from deploy.demo.register import BLOCK_ZONE, CSV_HEADER, MAIN_ZONE, community, write_csv
from tests.support.mosquitto import free_port

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[2]


def test_the_register_is_a_community_of_about_600_in_200_households(tmp_path: Path) -> None:
    people = community()
    assert 550 <= len(people) <= 650
    assert len({p.label for p in people}) == 200
    assert len({(p.label, p.name) for p in people}) == len(people)  # the import's key
    assert {p.zone for p in people} == {MAIN_ZONE, BLOCK_ZONE}
    tenants = [p for p in people if p.role == "租户"]
    assert sum(p.zone == BLOCK_ZONE for p in tenants) > len(tenants) / 2
    assert all("\u4e00" <= p.name[0] <= "\u9fff" for p in people)
    assert community() == people  # the same people every run
    write_csv(people, tmp_path / "r.csv")
    with (tmp_path / "r.csv").open(encoding="utf-8-sig") as rows:
        read = list(csv.reader(rows))
    assert tuple(read[0]) == CSV_HEADER
    assert len(read) == len(people) + 1


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(100):
            writer.write(data)
            await writer.drain()
    except ConnectionResetError:
        pass  # the proxy dropped the connection: that is what the test does
    finally:
        writer.close()


async def _read(reader: asyncio.StreamReader) -> bytes:
    """What arrives next; b"" when the proxy closed or reset the connection."""
    try:
        async with asyncio.timeout(5):
            return await reader.read(100)
    except ConnectionResetError:
        return b""


async def _round_trip(port: int) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"ping")
    await writer.drain()
    data = await _read(reader)
    writer.close()
    return data


async def test_the_proxy_forwards_drops_on_cut_refuses_while_cut_and_restores() -> None:
    target = await asyncio.start_server(_echo, "127.0.0.1", 0)
    proxy = CutProxy(free_port(), target.sockets[0].getsockname()[1])
    await proxy.start()
    try:
        assert await _round_trip(proxy.listen_port) == b"ping"
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.listen_port)
        writer.write(b"x")
        assert await reader.read(10) == b"x"
        proxy.cut()
        assert await _read(reader) == b""  # the open connection is dropped
        writer.close()
        assert await _round_trip(proxy.listen_port) == b""  # refused while cut
        proxy.restore()
        assert await _round_trip(proxy.listen_port) == b"ping"
    finally:
        await proxy.close()
        target.close()
        await target.wait_closed()


def test_gatepass_sim_send_presents_a_code_to_a_running_scanner(tmp_path: Path) -> None:
    """Started in the background (stdin at its end, as after ``&``) the simulator keeps
    running, takes commands on its control socket, and stops on SIGTERM with exit 0, no
    traceback and its link removed, a control client still connected (issue 15 item 9)."""
    control, link = tmp_path / "scanner.sock", tmp_path / "scanner"
    sim = subprocess.Popen(
        [str(BIN / "gatepass-sim"), "scanner", "--link", str(link), "--control", str(control)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 10
        while not control.exists():
            assert time.monotonic() < deadline, "no control socket"
            assert sim.poll() is None, "the simulator exited at the end of its input"
            time.sleep(0.02)
        send = [str(BIN / "gatepass-sim"), "send", str(control)]
        ok = subprocess.run(
            [*send, "present", "PG1:A B$C", "0.2"], check=False, capture_output=True, text=True
        )
        assert ok.returncode == 0, ok.stderr
        assert ok.stdout.startswith("ok presenting")
        bad = subprocess.run([*send, "bogus"], check=False, capture_output=True, text=True)
        assert bad.returncode == 1
        assert bad.stdout.startswith("error unknown command")
        with socket.socket(socket.AF_UNIX) as client:
            client.connect(str(control))  # connected while the simulator stops
            sim.send_signal(signal.SIGTERM)
            assert sim.wait(10) == 0
    finally:
        if sim.poll() is None:
            sim.kill()
        _out, err = sim.communicate(timeout=10)
    assert "Traceback" not in err, err
    assert not link.exists()


def test_gatepass_sim_send_says_when_nothing_listens(tmp_path: Path) -> None:
    gone = subprocess.run(
        [str(BIN / "gatepass-sim"), "send", str(tmp_path / "none.sock"), "help"],
        check=False,
        capture_output=True,
        text=True,
    )
    assert gone.returncode == 2
    assert gone.stderr.startswith("gatepass-sim send: cannot reach")


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ([], ["-m", "deploy.demo"]),
        (["DURATION=90"], ["-m", "deploy.demo", "--duration", "90"]),
        (["TRAFFIC=0", "PORT=8081"], ["-m", "deploy.demo", "--no-traffic", "--port", "8081"]),
    ],
)
def test_make_demo_passes_its_variables_to_the_orchestrator(
    variables: list[str], expected: list[str]
) -> None:
    plan = subprocess.run(
        ["make", "-n", "demo", *variables], cwd=REPO, check=True, capture_output=True, text=True
    ).stdout.splitlines()
    command = next(line for line in plan if "deploy.demo" in line).split()
    assert command[0].endswith(".venv/bin/python")
    assert command[1:] == expected
