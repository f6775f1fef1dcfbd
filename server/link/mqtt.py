"""The server's broker adapter: the only server module that imports paho-mqtt.

paho 2.x with ``CallbackAPIVersion.VERSION2`` and MQTT 5: a persistent session (client id =
the server's username, which the broker enforces; clean start off; session expiry), QoS 1
subscriptions whose granted QoS is checked, and ``manual_ack=True`` so the broker's PUBACK for
an inbound message is sent only when the ingest calls :meth:`MqttClient.ack` after its database
commit. paho runs its network loop on its own
thread; every callback (``_on_*_threadsafe``) does nothing but hand its data to the asyncio loop
through :meth:`MqttClient._handoff`, the one place where the two meet (inbound messages are
queued under a lock and handed over as one burst per loop wake-up). Every wait has a timeout.

The gate's adapter (device/link/mqtt.py) speaks the same vocabulary: ``MqttSettings``,
``MqttClient``, ``start``/``stop``, ``connected``, ``publish``/``publish_wait``, ``subscribe``,
``Inbound`` (docs/architecture.md lays the two side by side).

An inbound message carries the connection generation it arrived on: after a reconnect the
broker redelivers what was not acknowledged, so a PUBACK for a message of an older connection
is not sent (its packet id may mean something else now). A connection that another one with
the server's own account took over is counted (protocol.takeovers) and logged.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from protocol.takeovers import Takeovers

logger = logging.getLogger(__name__)

RECEIVE_MAXIMUM = 2000  # inbound QoS 1 messages in flight to us: the broker streams while we commit
MAX_QUEUED = 10_000  # our own publishes (acks, commands) buffered while disconnected
STOP_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class MqttSettings:
    """How the server reaches its broker."""

    host: str
    port: int
    username: str
    password: str
    client_id: str
    subscriptions: tuple[str, ...]
    will_topic: str
    will_payload: bytes
    keepalive_s: int = 8  # a broker that stops answering is noticed within 2 x this
    session_expiry_s: int = 2 * 86400
    tls_ca: Path | None = None
    reconnect_min_s: int = 1
    # One client, usually beside its broker: trying every 2 s at most costs nothing, while
    # paho's doubling up to 30 s kept events waiting up to 16 s after a broker came back.
    reconnect_max_s: int = 2


class Inbound(NamedTuple):
    """A message as delivered; ``generation`` is the connection it arrived on, ``user`` its
    MQTT 5 user properties (a tuple: built on paho's thread for every message, where each
    microsecond is taken from the receive)."""

    topic: str
    payload: bytes
    mid: int
    qos: int
    retain: bool
    generation: int
    user: tuple[tuple[str, str], ...] = ()


@dataclass
class LinkState:
    """What the adapter knows about its session (read on the event loop)."""

    connected: bool = False
    session_present: bool = False
    connects: int = 0
    granted: dict[str, int] = field(default_factory=dict)
    last_error: str | None = None


class MqttClient:
    """One persistent MQTT session; callbacks run on the event loop, never on paho's thread."""

    def __init__(
        self,
        settings: MqttSettings,
        *,
        on_messages: Callable[[list[Inbound]], None],
        on_connection: Callable[[bool], None],
    ) -> None:
        self.settings = settings
        self.state = LinkState()
        self.connected = asyncio.Event()  # set while the broker session is up
        self.subscribed = asyncio.Event()  # SUBACK received for this connection's filters
        self._on_messages = on_messages
        self._on_connection = on_connection
        self.takeovers = Takeovers()  # of this session (the link's monitor raises the alert)
        self._down_at: float | None = None  # monotonic time the link went down, while down
        self._loop = asyncio.get_running_loop()
        self._generation = 0  # written and read on paho's thread; read by ack() on the loop
        self._pending: dict[int, asyncio.Future[bool]] = {}
        self._arrivals: list[Inbound] = []  # filled on paho's thread, drained on the loop
        self._arrivals_lock = threading.Lock()
        self._drain_due = False
        self._client = self._make_client()

    def _make_client(self) -> paho.Client:
        s = self.settings
        client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=s.client_id,
            protocol=paho.MQTTv5,
            manual_ack=True,
        )
        client.username_pw_set(s.username, s.password)
        if s.tls_ca is not None:
            client.tls_set(ca_certs=str(s.tls_ca), tls_version=ssl.PROTOCOL_TLS_CLIENT)
        client.will_set(s.will_topic, s.will_payload, qos=1, retain=True)
        client.max_inflight_messages_set(RECEIVE_MAXIMUM)
        client.max_queued_messages_set(MAX_QUEUED)
        client.reconnect_delay_set(min_delay=s.reconnect_min_s, max_delay=s.reconnect_max_s)
        client.on_connect = self._on_connect_threadsafe
        client.on_disconnect = self._on_disconnect_threadsafe
        client.on_connect_fail = self._on_connect_fail_threadsafe
        client.on_subscribe = self._on_subscribe_threadsafe
        client.on_message = self._on_message_threadsafe
        client.on_publish = self._on_publish_threadsafe
        return client

    async def start(self) -> None:
        """Connect in the background and start paho's network loop thread (paho retries with
        back-off until the broker answers); ``connected`` is set on every CONNACK."""
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = self.settings.session_expiry_s
        props.ReceiveMaximum = RECEIVE_MAXIMUM
        self._client.connect_async(
            self.settings.host,
            self.settings.port,
            keepalive=self.settings.keepalive_s,
            clean_start=False,
            properties=props,
        )
        self._client.loop_start()

    async def stop(self, final: tuple[str, bytes] | None = None) -> None:
        """Publish a last retained message if connected, then disconnect and join paho's thread."""
        if final is not None and self.connected.is_set():
            await self.publish_wait(final[0], final[1], retain=True, wait_s=2.0)
        await asyncio.wait_for(asyncio.to_thread(self._client.disconnect), STOP_TIMEOUT_S)
        await asyncio.wait_for(asyncio.to_thread(self._client.loop_stop), STOP_TIMEOUT_S)
        self._fail_pending()

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> bool:
        """QoS 1 publish without waiting for the PUBACK; False if paho refused to queue it
        (while disconnected paho queues it, up to MAX_QUEUED, and sends it at reconnect)."""
        return self._queue(topic, payload, retain=retain) is not None

    def _queue(self, topic: str, payload: bytes, *, retain: bool) -> int | None:
        """Hand a QoS 1 publish to paho; its message id, or None if paho refused it."""
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            logger.warning("publish to %s not queued: %s", topic, paho.error_string(info.rc))
            return None
        return info.mid

    async def publish_wait(
        self, topic: str, payload: bytes, *, retain: bool = False, wait_s: float = 10.0
    ) -> bool:
        """QoS 1 publish and await the broker's PUBACK; True if it came within ``wait_s``."""
        if not self.connected.is_set():
            return False
        mid = self._queue(topic, payload, retain=retain)
        if mid is None:
            return False
        future: asyncio.Future[bool] = self._loop.create_future()
        self._pending[mid] = future  # no await since publish(): the PUBACK cannot be here yet
        try:
            async with asyncio.timeout(wait_s):  # unlike wait_for in 3.11, never eats a cancel
                return await future
        except TimeoutError:
            return False
        finally:
            self._pending.pop(mid, None)

    def subscribe(self, topic_filter: str) -> None:
        """Subscribe now (the settings' filters are subscribed on every connect anyway)."""
        if self.connected.is_set():
            self._client.subscribe(
                topic_filter, options=SubscribeOptions(qos=1, retainAsPublished=True)
            )

    def ack(self, message: Inbound) -> None:
        """Send the broker's PUBACK for ``message`` (after the commit), on its own connection."""
        if message.qos == 0 or message.generation != self._generation:
            return
        rc = self._client.ack(message.mid, message.qos)
        if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            logger.info("PUBACK for mid %d not sent: %s", message.mid, paho.error_string(rc))

    # --- paho's thread: hand everything to the loop, nothing else -------------------------------

    def _handoff(self, callback: Callable[..., None], *args: Any) -> None:
        """The one place where paho's thread passes anything to the asyncio loop."""
        try:
            self._loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # the loop is closed: the process is shutting down
            logger.debug("event loop closed; dropped a %s callback", callback.__name__)

    def _on_connect_threadsafe(
        self, client: paho.Client, userdata: object, flags: Any, reason: ReasonCode, props: object
    ) -> None:
        if reason.is_failure:
            self._handoff(self._refused, str(reason))
            self._handoff(self.takeovers.failed)
            return
        self._generation += 1
        # the retain flag as published: a retained event is a forgery to refuse, not to store
        options = SubscribeOptions(qos=1, retainAsPublished=True)
        client.subscribe([(f, options) for f in self.settings.subscriptions])
        self._handoff(self._connected, bool(flags.session_present))

    def _on_disconnect_threadsafe(
        self,
        client: paho.Client,
        userdata: object,
        flags: paho.DisconnectFlags,
        reason: ReasonCode,
        props: object,
    ) -> None:
        said = bool(flags.is_disconnect_packet_from_server)
        self._handoff(self._dropped, int(reason.value), said)
        self._handoff(self._disconnected, str(reason))

    def _on_connect_fail_threadsafe(self, client: paho.Client, userdata: object) -> None:
        self._handoff(self.takeovers.failed)

    def _on_subscribe_threadsafe(
        self,
        client: paho.Client,
        userdata: object,
        mid: int,
        codes: list[ReasonCode],
        props: object,
    ) -> None:
        self._handoff(self._subscribed, [int(c.value) for c in codes])

    def _on_message_threadsafe(
        self, client: paho.Client, userdata: object, msg: paho.MQTTMessage
    ) -> None:
        user = getattr(msg.properties, "UserProperty", None)
        item = Inbound(
            msg.topic,
            bytes(msg.payload),
            msg.mid,
            msg.qos,
            msg.retain,
            self._generation,
            tuple(user) if user else (),
        )
        with self._arrivals_lock:  # one wake-up of the loop per burst, not per message
            self._arrivals.append(item)
            if self._drain_due:
                return
            self._drain_due = True
        self._handoff(self._drain_arrivals)

    def _on_publish_threadsafe(
        self, client: paho.Client, userdata: object, mid: int, reason: ReasonCode, props: object
    ) -> None:
        self._handoff(self._resolve, mid, not reason.is_failure)

    # --- the event loop's side ------------------------------------------------------------------

    def _drain_arrivals(self) -> None:
        with self._arrivals_lock:
            items, self._arrivals = self._arrivals, []
            self._drain_due = False
        self._on_messages(items)

    def _dropped(self, reason: int, said_by_broker: bool) -> None:
        """Count a takeover the broker announced (mosquitto 2.0.15 and later)."""
        if self.takeovers.dropped(reason, said_by_broker=said_by_broker, at=time.monotonic()):
            self._taken_over()

    def _taken_over(self) -> None:
        """Someone connected with the server's own account: its broker password is out."""
        recent = self.takeovers.count(time.monotonic())
        logger.warning(
            "broker session taken over by another connection with the server's account "
            "(%d times in 10 minutes)",
            recent,
        )

    def recent_takeovers(self) -> int:
        """Takeovers of this session in the last 10 minutes."""
        return self.takeovers.count(time.monotonic())

    def _connected(self, session_present: bool) -> None:
        if self.takeovers.connected(time.monotonic()):
            self._taken_over()
        self.state.connected, self.state.session_present = True, session_present
        self.state.connects += 1
        self.connected.set()
        down, self._down_at = self._down_at, None
        if down is None:
            logger.info("broker link up (session present: %s)", session_present)
        else:  # the window the link was down, for the log (a frozen or restarted broker)
            logger.warning(
                "broker link up after %.1f s down (session present: %s)",
                time.monotonic() - down,
                session_present,
            )
        self._on_connection(True)

    def _disconnected(self, reason: str) -> None:
        was_up = self.connected.is_set()
        self.state.connected = False
        self.connected.clear()
        self.subscribed.clear()
        self._fail_pending()
        if was_up:
            self._down_at = time.monotonic()
            logger.warning("broker link down: %s", reason)
            self._on_connection(False)

    def _refused(self, reason: str) -> None:
        self.state.last_error = reason
        logger.error("broker refused the server's connection: %s", reason)

    def _subscribed(self, codes: list[int]) -> None:
        self.state.granted = dict(zip(self.settings.subscriptions, codes, strict=False))
        refused = {f: c for f, c in self.state.granted.items() if c != 1}
        if refused:
            self.state.last_error = f"subscriptions not granted at QoS 1: {refused}"
            logger.error("%s", self.state.last_error)
        else:
            self.subscribed.set()

    def _resolve(self, mid: int, ok: bool) -> None:
        future = self._pending.get(mid)  # publish_wait registers before any callback can run
        if future is not None and not future.done():
            future.set_result(ok)

    def _fail_pending(self) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_result(False)
        self._pending.clear()
