"""Shared fixtures: a real mosquitto per test (auth and ACL on), and the project's test keys."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from server.services.gates.broker_files import render_acl
from tests.support.mosquitto import Mosquitto
from tests.support.mqtt import TestClient

SITE = "gw01"


@pytest.fixture
def broker_accounts() -> dict[str, str]:
    """One server account and three gate accounts, each with a fresh random password: east-in
    and east-out are peers (one zone), west-in is a lane of another zone."""
    names = ("server", "east-in", "east-out", "west-in")
    return {name: secrets.token_urlsafe(16) for name in names}


PEERS = {"east-in": ["east-out"], "east-out": ["east-in"], "west-in": []}


@pytest.fixture
def broker(tmp_path: Path, broker_accounts: dict[str, str]) -> Iterator[Mosquitto]:
    """A running mosquitto on a free loopback port with the site's ACL as the server writes it."""
    acl = render_acl(SITE, PEERS, server="server")
    mosq = Mosquitto(tmp_path / "broker", broker_accounts, acl)
    mosq.start()
    try:
        yield mosq
    finally:
        mosq.kill()


@pytest.fixture
def mqtt_client(
    broker: Mosquitto, broker_accounts: dict[str, str]
) -> Iterator[Callable[..., TestClient]]:
    """Factory for connected test clients; every client is closed at the end of the test."""
    made: list[TestClient] = []

    def make(username: str | None, password: str | None = None) -> TestClient:
        if username is not None and password is None:
            password = broker_accounts[username]
        client = TestClient(broker.host, broker.port, username, password)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


# Tests whose bounds are about time (recovery, the fault soak, a server kept answering) run
# alone, after the rest ran on every core (Makefile ``unit``): a neighbour's load must not be what
# fails them. Slow tests whose checks are about correctness (kills, the browser, memory) stay in
# the parallel pass, and so does the demo: its 100 s are mostly its scenes' own pauses, and its
# bounds (started within 60 s, the scenes within 120 s) hold with a neighbour beside it.
SERIAL_DIRS = ("faults",)
SERIAL_FILES = ("security/test_bad_reading.py", "security/test_import_large.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the time-bound tests ``serial``: SERIAL_DIRS and SERIAL_FILES."""
    root = Path(__file__).parent
    for item in items:
        where = item.path.relative_to(root)
        if where.parts[0] in SERIAL_DIRS or where.as_posix() in SERIAL_FILES:
            item.add_marker(pytest.mark.serial)


@pytest.fixture(autouse=True)
def _restore_umask() -> Iterator[None]:
    """A CLI run in-process sets the process umask to 077 (server/cli/main.py); the next test in
    the same worker must not inherit it (the broker, as the mosquitto user, then cannot read the
    files a deploy test makes)."""
    before = os.umask(0o022)
    os.umask(before)
    yield
    os.umask(before)
