"""The gate's MQTT client: the only module on the gate that imports paho-mqtt.

It speaks the project's MQTT vocabulary, the same names as the server's adapter
(docs/architecture.md, "The gate's MQTT adapter"): ``MqttSettings`` (the broker, the
subscriptions, the Last Will), ``MqttClient`` with ``start``, ``stop(final)``, ``connected``,
``publish`` (QoS 1, no wait), ``publish_wait`` (QoS 1, await the PUBACK), ``subscribe``, and
``Inbound`` messages. paho runs its network loop on its own thread (``loop_start``) and
reconnects by itself with a capped exponential back-off; we add jitter by re-seeding the
back-off on every lost connection so a site's gates do not reconnect in lock-step. Every paho
callback (``_on_*_threadsafe``) hands its data to the event loop through ``_handoff``, the one
crossing. Sessions are persistent (client id = the gate's username, which the broker enforces;
clean start off; session expiry), the Last Will is the gate's ``offline`` status, retained.
Every wait has a timeout. A connection that another one with the gate's own account took over
is counted (protocol.takeovers) and logged; the gate's status reports the count.

Broker PUBACKs are counted on paho's thread and reach the loop only when someone waits on
them: a ``publish_wait`` (status, command results), or the drainer waiting for ``room``
(``unconfirmed`` below a window). So a backlog is handed to paho a window at a time: while a
person's scan is decided, paho's thread has at most a window of messages to write and
confirm, not hundreds.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import random
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from protocol.takeovers import Takeovers

logger = logging.getLogger(__name__)

PUBLISH_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0
MAX_QUEUED = 1000  # paho's in-memory queue is transport only; the outbox is the record
MAX_INFLIGHT = 100  # the broker's receive maximum may lower it
RECENT_PUBACKS = 1024  # PUBACKs remembered for a publish_wait() registering after its PUBACK


def _options() -> SubscribeOptions:
    """QoS 1, and the retain flag as the publisher set it (MQTT 5), so a retained message on a
    topic that must never hold one (a peer's presence) is seen as such and refused."""
    return SubscribeOptions(qos=1, retainAsPublished=True)


@dataclass(frozen=True, slots=True)
class MqttSettings:
    """How to reach the broker as this gate: what it subscribes to and its Last Will."""

    host: str
    port: int
    username: str
    password: str
    client_id: str
    subscriptions: tuple[str, ...]  # subscribed again on every connect
    will_topic: str
    will_payload: bytes
    keepalive_s: int = 8  # a broker that stops answering is noticed within 2 x this
    session_expiry_s: int = 7 * 86400
    tls_ca: Path | None = None
    reconnect_min_s: float = 1.0
    reconnect_max_s: float = 30.0


@dataclass(frozen=True, slots=True)
class Inbound:
    """A message from the broker, handed to the event loop as received."""

    topic: str
    payload: bytes
    retain: bool


def _no_delay(client: paho.Client, userdata: object, sock: object) -> None:
    """Send each packet at once (paho leaves Nagle on): an event, an ack or a status is small,
    and a PUBACK window would otherwise stall on the peer's delayed ACK."""
    if isinstance(sock, socket.socket):  # a TLS socket is one too
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class MqttClient:
    """One persistent MQTT session for the gate; async helpers over paho's thread."""

    def __init__(
        self,
        settings: MqttSettings,
        *,
        takeovers: Takeovers | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.takeovers = takeovers or Takeovers()  # of this session (the gate's status counts them)
        self._monotonic = monotonic
        self.inbox: asyncio.Queue[Inbound] = asyncio.Queue()
        self.connected = asyncio.Event()
        self.changes: asyncio.Queue[bool] = asyncio.Queue()
        self._loop = asyncio.get_running_loop()
        self._pending: dict[int, asyncio.Future[bool]] = {}  # publish_wait() waiting, by mid
        self._recent: collections.deque[tuple[int, bool]] = collections.deque(
            maxlen=RECENT_PUBACKS
        )  # PUBACKs nobody waited for yet (paho's thread appends, under _lock)
        self._lock = threading.Lock()  # _pending and _recent, between the loop and paho
        self._published = 0  # QoS 1 publishes handed to paho (the loop writes it)
        self._confirmed = 0  # PUBACKs received (paho's thread writes it)
        self.room = asyncio.Event()
        self._room_below: int | None = None  # the window the drainer waits under, if it waits
        self._follow: frozenset[str] = frozenset()  # filters besides the settings' (peers)
        self._down_at: float | None = None  # monotonic time the link went down, while down
        self._client = self._make_client()

    def _make_client(self) -> paho.Client:
        s = self.settings
        client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=s.client_id, protocol=paho.MQTTv5
        )
        client.username_pw_set(s.username, s.password)
        if s.tls_ca is not None:
            client.tls_set(ca_certs=str(s.tls_ca), tls_version=ssl.PROTOCOL_TLS_CLIENT)
        client.will_set(s.will_topic, s.will_payload, qos=1, retain=True)
        client.max_queued_messages_set(MAX_QUEUED)
        client.max_inflight_messages_set(MAX_INFLIGHT)
        client.on_connect = self._on_connect_threadsafe
        client.on_disconnect = self._on_disconnect_threadsafe
        client.on_connect_fail = self._on_connect_fail_threadsafe
        client.on_message = self._on_message_threadsafe
        client.on_publish = self._on_publish_threadsafe
        client.on_socket_open = _no_delay
        return client

    def _jitter_backoff(self, client: paho.Client) -> None:
        """Re-seed paho's doubling back-off with a random first delay (it has no jitter)."""
        s = self.settings
        low = s.reconnect_min_s * random.uniform(1.0, 2.0)  # noqa: S311 - jitter, not crypto
        # paho annotates the delays as int but does float arithmetic with them
        client.reconnect_delay_set(min_delay=low, max_delay=s.reconnect_max_s)  # type: ignore[arg-type]

    async def start(self) -> None:
        """Connect in the background and start paho's network loop thread; ``connected`` is
        set on every CONNACK."""
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = self.settings.session_expiry_s
        self._jitter_backoff(self._client)
        self._client.connect_async(
            self.settings.host,
            self.settings.port,
            keepalive=self.settings.keepalive_s,
            clean_start=False,
            properties=props,
        )
        self._client.loop_start()

    async def stop(self, final: tuple[str, bytes] | None = None) -> None:
        """Publish a last retained message (topic, payload) if connected, then disconnect and
        join paho's thread."""
        if final is not None and self.connected.is_set():
            await self.publish_wait(final[0], final[1], retain=True, wait_s=2.0)
        for step in (self._client.disconnect, self._client.loop_stop):
            try:
                async with asyncio.timeout(STOP_TIMEOUT_S):
                    await asyncio.to_thread(step)
            except TimeoutError:
                # paho's network thread is a daemon thread: leave it rather than hang the stop
                logger.warning("paho %s did not return within %s s", step.__name__, STOP_TIMEOUT_S)
        self._fail_pending()

    def subscribe(self, topic_filter: str) -> None:
        """Subscribe now, if connected (the settings' filters are subscribed on every connect);
        subscribing again makes the broker re-send the retained message (a gap, a resync)."""
        if self.connected.is_set():
            self._client.subscribe(topic_filter, options=_options())

    def follow(self, filters: frozenset[str]) -> None:
        """Subscribe to ``filters`` besides the settings' (now and on every connect), and drop
        the ones followed before and not named now (the peers a new signed config names)."""
        old, self._follow = self._follow, filters
        if not self.connected.is_set():
            return
        for topic_filter in sorted(filters - old):
            self._client.subscribe(topic_filter, options=_options())
        if old - filters:
            self._client.unsubscribe(sorted(old - filters))

    def publish(
        self,
        topic: str,
        payload: bytes,
        *,
        retain: bool = False,
        user: tuple[tuple[str, str], ...] = (),
    ) -> bool:
        """QoS 1 publish without waiting for the PUBACK (the outbox waits for the server's
        ack instead), with ``user`` as MQTT 5 user properties; False if not connected or
        paho's queue is full."""
        if not self.connected.is_set():
            return False
        props = None
        if user:
            props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
            props.UserProperty = list(user)
        info = self._client.publish(topic, payload, qos=1, retain=retain, properties=props)
        if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            return False
        self._published += 1
        return True

    @property
    def unconfirmed(self) -> int:
        """Publishes handed to paho that the broker has not confirmed yet."""
        return self._published - self._confirmed

    async def wait_room(self, window: int, timeout_s: float) -> bool:
        """Wait until fewer than ``window`` publishes await the broker's PUBACK (False on
        timeout: a reconnect resets the count, the caller tries again)."""
        self.room.clear()
        self._room_below = window  # paho's thread wakes us once it confirms enough
        if self.unconfirmed < window:  # confirmed before it could see the flag
            self._room_below = None
            return True
        try:
            async with asyncio.timeout(timeout_s):
                await self.room.wait()
            return True
        except TimeoutError:
            return False
        finally:
            self._room_below = None

    async def publish_wait(
        self,
        topic: str,
        payload: bytes,
        *,
        retain: bool = False,
        wait_s: float = PUBLISH_TIMEOUT_S,
    ) -> bool:
        """QoS 1 publish; True once the broker's PUBACK arrived, False if not (retry later)."""
        if not self.connected.is_set():
            return False
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            logger.warning("publish to %s not queued: %s", topic, paho.error_string(info.rc))
            return False
        self._published += 1
        future = self._register(info.mid)
        try:
            async with asyncio.timeout(wait_s):  # unlike wait_for, never swallows a cancel
                return await future
        except TimeoutError:
            return False
        finally:
            with self._lock:
                self._pending.pop(info.mid, None)

    # --- paho thread side: hand everything to the loop, nothing else -------------------------

    def _handoff(self, callback: Callable[..., None], *args: Any) -> None:
        """The one place where paho's thread passes anything to the asyncio loop."""
        try:
            self._loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # the loop is closed: the process is shutting down
            logger.debug("event loop closed; dropped a %s callback", callback.__name__)

    def _on_connect_threadsafe(
        self,
        client: paho.Client,
        userdata: object,
        flags: object,
        reason_code: ReasonCode,
        properties: object,
    ) -> None:
        if reason_code.is_failure:
            logger.warning("broker refused the connection: %s", reason_code)
            self._handoff(self.takeovers.failed)
            return
        for topic_filter in (*self.settings.subscriptions, *sorted(self._follow)):
            client.subscribe(topic_filter, options=_options())
        self._handoff(self._set_connected, True)

    def _on_connect_fail_threadsafe(self, client: paho.Client, userdata: object) -> None:
        self._handoff(self.takeovers.failed)

    def _on_disconnect_threadsafe(
        self,
        client: paho.Client,
        userdata: object,
        flags: paho.DisconnectFlags,
        reason_code: ReasonCode,
        properties: object,
    ) -> None:
        self._jitter_backoff(client)
        said = bool(flags.is_disconnect_packet_from_server)
        self._handoff(self._dropped, int(reason_code.value), said)
        self._handoff(self._set_connected, False)

    def _on_message_threadsafe(
        self, client: paho.Client, userdata: object, message: paho.MQTTMessage
    ) -> None:
        item = Inbound(message.topic, bytes(message.payload), bool(message.retain))
        self._handoff(self.inbox.put_nowait, item)

    def _on_publish_threadsafe(
        self,
        client: paho.Client,
        userdata: object,
        mid: int,
        reason_code: ReasonCode,
        properties: object,
    ) -> None:
        self._confirmed += 1
        below = self._room_below
        if below is not None and self._published - self._confirmed < below:
            self._room_below = None
            self._handoff(self.room.set)
        ok = not reason_code.is_failure
        with self._lock:
            future = self._pending.get(mid)
            if future is None:
                self._recent.append((mid, ok))
                return
        self._handoff(self._resolve, future, ok)

    # --- event loop side -----------------------------------------------------------------------

    def _dropped(self, reason: int, said_by_broker: bool) -> None:
        """Count a takeover the broker announced (mosquitto 2.0.15 and later)."""
        if self.takeovers.dropped(reason, said_by_broker=said_by_broker, at=self._monotonic()):
            self._taken_over()

    def _taken_over(self) -> None:
        """Someone connected with this gate's own account: its password is out."""
        recent = self.takeovers.count(self._monotonic())
        logger.warning(
            "broker session taken over by another connection with this gate's account "
            "(%d times in 10 minutes)",
            recent,
        )

    def _set_connected(self, up: bool) -> None:
        if up == self.connected.is_set():
            return
        if up:
            if self.takeovers.connected(self._monotonic()):
                self._taken_over()
            self._published = self._confirmed  # what was in flight is paho's to resend
            self.connected.set()
        else:
            self.connected.clear()
            self._fail_pending()
        self.changes.put_nowait(up)
        self._log_window(up)

    def _log_window(self, up: bool) -> None:
        """Log each change of the link, and how long it was down (a frozen or restarted
        broker, a partition): the window the gate decided offline."""
        if not up:
            self._down_at = self._monotonic()
            logger.warning("broker link down: deciding offline")
            return
        down, self._down_at = self._down_at, None
        if down is None:
            logger.info("broker link up")
        else:
            logger.warning("broker link up after %.1f s down", self._monotonic() - down)

    def _register(self, mid: int) -> asyncio.Future[bool]:
        """A future for ``mid``'s PUBACK, already resolved if the PUBACK came first."""
        future: asyncio.Future[bool] = self._loop.create_future()
        with self._lock:
            early = next((ok for m, ok in self._recent if m == mid), None)
            if early is None:
                self._pending[mid] = future
                return future
            self._recent.remove((mid, early))
        future.set_result(early)
        return future

    @staticmethod
    def _resolve(future: asyncio.Future[bool], ok: bool) -> None:
        if not future.done():
            future.set_result(ok)

    def _fail_pending(self) -> None:
        """A lost connection answers every waiting publish with False (the outbox retries)."""
        with self._lock:
            waiting, self._pending = list(self._pending.values()), {}
            self._recent.clear()
        for future in waiting:
            if not future.done():
                future.set_result(False)
