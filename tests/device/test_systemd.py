"""sd_notify and the watchdog against a fake notify socket (as systemd would provide it)."""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path

import pytest

from device import systemd


@pytest.fixture
def notify_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> socket.socket:
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(2)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    yield sock
    sock.close()


def test_ready(notify_socket: socket.socket) -> None:
    assert systemd.notify("READY=1")
    assert notify_socket.recv(100) == b"READY=1"


def test_without_systemd_nothing_is_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert systemd.notify("READY=1") is False


async def test_watchdog_is_fed_only_while_healthy(
    notify_socket: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "100000")  # 0.1 s: ping every 0.05 s
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    healthy = [True]
    task = asyncio.create_task(systemd.watchdog(lambda: healthy[0]))
    got = await asyncio.to_thread(notify_socket.recv, 100)
    assert got == b"WATCHDOG=1"
    healthy[0] = False
    await asyncio.sleep(0.12)
    notify_socket.settimeout(0.01)
    while True:  # drain what was sent before the change
        try:
            notify_socket.recv(100)
        except TimeoutError:
            break
    notify_socket.settimeout(0.3)
    with pytest.raises(TimeoutError):
        notify_socket.recv(100)  # sick: no more pings, systemd restarts the unit
    task.cancel()


def test_watchdog_off_for_another_pid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "100000")
    monkeypatch.setenv("WATCHDOG_PID", "1")
    assert systemd.watchdog_interval() is None
