"""The gate's MQTT client against a real mosquitto: session, subscriptions, acks, reconnects."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable

import pytest

from device.link.mqtt import MqttClient, MqttSettings
from protocol import topics
from protocol.topics import TopicKind
from tests.conftest import SITE
from tests.support.mosquitto import Mosquitto
from tests.support.mqtt import TestClient

pytestmark = pytest.mark.broker
GATE = "east-in"
STATUS = str(topics.gate_topic(SITE, GATE, TopicKind.STATUS))
EVENTS = str(topics.gate_topic(SITE, GATE, TopicKind.EVENTS))
ACKS = str(topics.gate_topic(SITE, GATE, TopicKind.ACKS))


def settings(broker: Mosquitto, password: str, *subscriptions: str) -> MqttSettings:
    return MqttSettings(
        host=broker.host,
        port=broker.port,
        username=GATE,
        password=password,
        client_id=GATE,
        subscriptions=subscriptions,
        will_topic=STATUS,
        will_payload=b"offline",
        reconnect_min_s=0.2,
        reconnect_max_s=1.0,
    )


@pytest.fixture
async def link(broker: Mosquitto, broker_accounts: dict[str, str]) -> AsyncIterator[MqttClient]:
    made = MqttClient(settings(broker, broker_accounts[GATE], ACKS))
    await made.start()
    await asyncio.wait_for(made.connected.wait(), 10)
    yield made
    await made.stop()


async def test_publish_waits_for_the_puback(
    link: MqttClient, mqtt_client: Callable[..., TestClient]
) -> None:
    server = mqtt_client("server")
    server.connect()
    server.subscribe(topics.all_gates(SITE, TopicKind.EVENTS))
    assert await link.publish_wait(EVENTS, b"event-1") is True
    got = await asyncio.to_thread(server.get)
    assert (got.topic, got.payload) == (EVENTS, b"event-1")


async def test_unawaited_publishes_are_counted_not_remembered(
    link: MqttClient, mqtt_client: Callable[..., TestClient]
) -> None:
    """The drain's fire-and-forget publishes leave nothing behind on the loop; their PUBACKs
    count down ``unconfirmed``, and ``wait_room`` wakes once enough came back."""
    server = mqtt_client("server")
    server.connect()
    server.subscribe(topics.all_gates(SITE, TopicKind.EVENTS))
    assert all(link.publish(EVENTS, b"e%d" % i) for i in range(300))
    assert await link.wait_room(1, 10) is True
    assert link.unconfirmed == 0
    assert link._pending == {}
    assert await link.publish_wait(EVENTS, b"awaited") is True  # a recent PUBACK never answers it
    assert link.unconfirmed == 0


async def test_packets_leave_at_once(link: MqttClient) -> None:
    """Nagle off: small QoS 1 packets are not held for the peer's delayed ACK."""
    sock = link._client.socket()
    assert isinstance(sock, socket.socket)
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1


async def test_subscriptions_reach_the_inbox(
    link: MqttClient, mqtt_client: Callable[..., TestClient]
) -> None:
    server = mqtt_client("server")
    server.connect()
    await asyncio.to_thread(server.publish, ACKS, b"ack-7")
    item = await asyncio.wait_for(link.inbox.get(), 5)
    assert (item.topic, item.payload) == (ACKS, b"ack-7")


async def test_broker_restart_is_survived(link: MqttClient, broker: Mosquitto) -> None:
    assert await asyncio.wait_for(link.changes.get(), 1) is True  # the first connect
    await asyncio.to_thread(broker.stop)
    assert await asyncio.wait_for(link.changes.get(), 10) is False
    assert not link.connected.is_set()
    assert await link.publish_wait(EVENTS, b"while-down") is False  # the outbox keeps it
    await asyncio.to_thread(broker.start)
    await asyncio.wait_for(link.connected.wait(), 15)
    assert await link.publish_wait(EVENTS, b"after") is True


async def test_persistent_session_queues_while_away(
    broker: Mosquitto, broker_accounts: dict[str, str], mqtt_client: Callable[..., TestClient]
) -> None:
    first = MqttClient(settings(broker, broker_accounts[GATE], ACKS))
    await first.start()
    await asyncio.wait_for(first.connected.wait(), 10)
    await first.stop()
    server = mqtt_client("server")
    server.connect()
    await asyncio.to_thread(server.publish, ACKS, b"queued-while-away")
    second = MqttClient(settings(broker, broker_accounts[GATE], ACKS))
    await second.start()
    try:
        item = await asyncio.wait_for(second.inbox.get(), 10)
        assert item.payload == b"queued-while-away"
    finally:
        await second.stop()


async def test_clean_stop_publishes_a_final_retained_status(
    link: MqttClient, mqtt_client: Callable[..., TestClient]
) -> None:
    await link.stop((STATUS, b"stopped"))
    watcher = mqtt_client("server")
    watcher.connect()
    watcher.subscribe(topics.all_gates(SITE, TopicKind.STATUS))
    got = await asyncio.to_thread(watcher.get)
    assert (got.payload, got.retain) == (b"stopped", True)


async def test_wrong_password_never_connects(broker: Mosquitto) -> None:
    bad = MqttClient(settings(broker, "wrong"))
    await bad.start()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(bad.connected.wait(), 1.5)
    await bad.stop()


def test_a_handoff_after_the_loop_closed_is_dropped(caplog: pytest.LogCaptureFixture) -> None:
    """paho's thread may still call back while the process shuts down: nothing raises there."""
    loop = asyncio.new_event_loop()

    unused = MqttSettings("127.0.0.1", 1, GATE, "-", "gate-test", (), STATUS, b"offline")

    async def make() -> MqttClient:
        return MqttClient(unused)

    try:
        client = loop.run_until_complete(make())
    finally:
        loop.close()
    with caplog.at_level("DEBUG", logger="device.link.mqtt"):
        client._handoff(client.room.set)
    assert "event loop closed" in caplog.text
