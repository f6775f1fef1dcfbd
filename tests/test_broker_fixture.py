"""The broker fixture is real: credentials are required and the ACL confines gates."""

from __future__ import annotations

import queue
from collections.abc import Callable

import pytest

from protocol import topics
from protocol.topics import TopicKind
from tests.conftest import SITE
from tests.support.mqtt import TestClient

pytestmark = pytest.mark.broker


def test_connects_with_generated_credentials(mqtt_client: Callable[..., TestClient]) -> None:
    assert mqtt_client("east-in").connect() == "Success"


def test_refused_without_credentials(mqtt_client: Callable[..., TestClient]) -> None:
    assert mqtt_client(None).connect() == "Not authorized"


def test_refused_with_wrong_password(mqtt_client: Callable[..., TestClient]) -> None:
    # mosquitto 2.0 answers a wrong password with "Not authorized" (CONNACK 0x87)
    assert mqtt_client("east-in", "not-the-password").connect() == "Not authorized"


def test_acl_lets_a_gate_publish_only_its_own_events(
    mqtt_client: Callable[..., TestClient],
) -> None:
    server = mqtt_client("server")
    server.connect()
    assert server.subscribe(topics.all_gates(SITE, TopicKind.EVENTS)) == [1]
    gate = mqtt_client("east-in")
    gate.connect()
    gate.publish(str(topics.gate_topic(SITE, "east-out", TopicKind.EVENTS)), b"forged")
    gate.publish(str(topics.gate_topic(SITE, "east-in", TopicKind.EVENTS)), b"own")
    got = server.get()
    assert (got.topic, got.payload) == (
        str(topics.gate_topic(SITE, "east-in", TopicKind.EVENTS)),
        b"own",
    )
    with pytest.raises(queue.Empty):
        server.get(timeout=0.3)
