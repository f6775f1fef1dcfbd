"""Shared fixtures: a real mosquitto per test (auth and ACL on), and the project's test keys."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from protocol import topics
from tests.support.mosquitto import Mosquitto, acl_text
from tests.support.mqtt import TestClient

SITE = "gw01"


@pytest.fixture
def broker_accounts() -> dict[str, str]:
    """One server account and two gate accounts, each with a fresh random password."""
    return {name: secrets.token_urlsafe(16) for name in ("server", "east-in", "east-out")}


@pytest.fixture
def broker(tmp_path: Path, broker_accounts: dict[str, str]) -> Iterator[Mosquitto]:
    """A running mosquitto on a free loopback port with the site's gate and server ACL."""
    acl = acl_text({"server": topics.server_acl(SITE)}, topics.gate_acl(SITE))
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
