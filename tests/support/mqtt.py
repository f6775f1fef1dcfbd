"""A small synchronous paho-mqtt client for tests: connect, publish, collect messages."""

from __future__ import annotations

import queue
import threading
import uuid
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

TIMEOUT = 5.0


@dataclass(frozen=True)
class Received:
    topic: str
    payload: bytes
    retain: bool
    qos: int


class TestClient:
    """A paho client on its own network thread, with blocking helpers that always time out."""

    __test__ = False  # not a pytest class

    def __init__(
        self,
        host: str,
        port: int,
        username: str | None,
        password: str | None,
        client_id: str | None = None,
    ) -> None:
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"test-{uuid.uuid4().hex[:12]}",
            protocol=mqtt.MQTTv5,
        )
        if username is not None:
            self.client.username_pw_set(username, password)
        self.host, self.port = host, port
        self.messages: queue.Queue[Received] = queue.Queue()
        self._connected = threading.Event()
        self._subscribed = threading.Event()
        self.connect_reason: str | None = None
        self.drops = 0  # connections lost (a reconnect follows)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:  # type: ignore[no-untyped-def]
        self.connect_reason = str(reason_code)
        self._connected.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:  # type: ignore[no-untyped-def]
        self.drops += 1

    def _on_message(self, client, userdata, msg) -> None:  # type: ignore[no-untyped-def]
        self.messages.put(Received(msg.topic, msg.payload, msg.retain, msg.qos))

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:  # type: ignore[no-untyped-def]
        self.granted = [int(rc.value) for rc in reason_codes]
        self._subscribed.set()

    def connect(self) -> str:
        """Connect and return the CONNACK reason as text ("Success", "Not authorized", ...)."""
        self.client.connect(self.host, self.port, keepalive=10)
        self.client.loop_start()
        if not self._connected.wait(TIMEOUT):
            raise TimeoutError("no CONNACK")
        return self.connect_reason or ""

    def subscribe(self, topic_filter: str, qos: int = 1) -> list[int]:
        self._subscribed.clear()
        self.client.subscribe(topic_filter, qos)
        if not self._subscribed.wait(TIMEOUT):
            raise TimeoutError("no SUBACK")
        return self.granted

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None:
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        info.wait_for_publish(TIMEOUT)

    def get(self, timeout: float = TIMEOUT) -> Received:
        return self.messages.get(timeout=timeout)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
