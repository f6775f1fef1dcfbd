"""C6: the server process SIGKILLed in the middle of a storm, then restarted: every event once.

The server runs as ``gatepass-server run`` in its own process, configured by environment
variables like an installation; its persistent session keeps what arrives while it is dead, the
broker redelivers what it had not acknowledged, and the gates resend what was never acked.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from protocol.messages import LaneDirection
from protocol.topics import TopicKind, site_topic
from tests.faults.common import assert_exactly_committed, committed, storming
from tests.faults.harness import GATES, SITE, LinkSite, build, running_gates
from tests.support.mosquitto import free_port
from tests.support.mqtt import TestClient

WATCH = "watch"  # a spare gate account, never run as a gate

pytestmark = [pytest.mark.slow, pytest.mark.broker, pytest.mark.timeout(120)]
PER_GATE = 300


def start_server(site: LinkSite) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "GATEPASS_DATA": str(site.settings.data_dir),
        "GATEPASS_MQTT_HOST": "127.0.0.1",
        "GATEPASS_MQTT_PORT": str(site.broker.port),
        "GATEPASS_RETENTION_INTERVAL_S": "0",
        "GATEPASS_LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "server", "run", "--port", str(free_port())]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def server_online(site: LinkSite) -> TestClient:
    """A spare gate account's view of the server's retained status (its own account: a second
    connection with a running gate's would take that gate's session over)."""
    watcher = TestClient(site.broker.host, site.broker.port, WATCH, site.passwords[WATCH])
    assert watcher.connect() == "Success"
    watcher.subscribe(str(site_topic(SITE, TopicKind.SERVER_STATUS)))
    return watcher


async def wait_online(watcher: TestClient) -> None:
    while True:
        got = await asyncio.to_thread(watcher.get, 30)
        if b'"state":"online"' in got.payload:
            return


async def test_server_killed_and_restarted_during_a_storm(tmp_path: Path) -> None:
    site = await build(tmp_path, GATES | {WATCH: (1, LaneDirection.IN)})
    site.broker.start()
    watcher = await asyncio.to_thread(server_online, site)
    server = start_server(site)
    try:
        await wait_online(watcher)
        async with (
            running_gates(site, "east-in", "east-out", resend_after_s=2.0) as gates,
            storming(gates, PER_GATE) as producing,
        ):
            await committed(gates, PER_GATE // 2)
            server.send_signal(signal.SIGKILL)
            server.wait(10)
            await committed(gates, PER_GATE)  # the storm goes on while the server is dead
            server = start_server(site)
            await wait_online(watcher)
            await producing
            for g in gates:
                await g.drained(60)
        server.send_signal(signal.SIGTERM)
        server.wait(20)
        rows = await assert_exactly_committed(site, gates)
        assert len(rows) == 2 * PER_GATE
    finally:
        watcher.close()
        if server.poll() is None:
            server.kill()
            server.wait(10)
        site.broker.kill()
