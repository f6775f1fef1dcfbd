"""The server's MQTT link: one broker session, the ingest worker, the publisher and the monitor.

Started and stopped by the app's lifespan when ``mqtt_host`` is set. On every (re)connect it
publishes its retained ``online`` status and republishes everything retained (a broker killed
with SIGKILL may have lost its retained messages since its last save); then it asks the
publishing service every ``POLL_S`` for a new manifest, a new revocation seq (or a heartbeat
due) and changed gate configs, so a revocation made anywhere (API, CLI) reaches connected gates
within about a second; a lock the ingest records, or an unlock through the API, pokes it to
look at once. The monitor checks time-based conditions every ``MONITOR_S``, and whether the
server's own session was taken over again and again (``session_takeover``). The gates' time
requests bypass the ingest (nothing is stored): the timekeeper answers each one at once, signed
(server.services.gates.timing), and then PUBACKs it. Every connect subscribes again, whatever
the broker says about the session (a broker killed before it saved has lost it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from importlib.metadata import version
from pathlib import Path

from protocol import messages
from protocol.errors import MessageError, TopicError
from protocol.messages import Lifecycle, ServerStatus
from protocol.topics import TopicKind, all_gates, parse_topic, site_topic
from server.link.ingest import Ingest
from server.link.mqtt import Inbound, MqttClient, MqttSettings
from server.records import ConfigVersion, Published
from server.services.context import Env
from server.services.errors import Conflict
from server.services.gates import health as gate_health
from server.services.gates import publishing
from server.services.gates.broker_accounts import PASSWORD_FILE, SERVER_ACCOUNT
from server.services.gates.port import LinkReport
from server.services.gates.publishing import MANIFEST, REVOCATIONS, Update
from server.services.gates.timing import TimeAnswers
from server.services.registry.site import site_id

logger = logging.getLogger(__name__)

POLL_S = 0.5
MONITOR_S = 5.0
DRAIN_S = 5.0
INGESTED = (TopicKind.EVENTS, TopicKind.STATUS, TopicKind.COMMAND_RESULTS)
ANSWERED = (TopicKind.TIME_REQUESTS,)  # handled by the link itself, never stored
_TIME_LEVEL = "/" + TopicKind.TIME_REQUESTS.value


class LinkConfigError(Exception):
    """The link cannot start: no site, or no broker password for the server."""


def server_password(env: Env) -> str:
    """The server's own broker password, written by ``broker-config`` (0600)."""
    path = env.settings.broker_dir / PASSWORD_FILE
    try:
        return path.read_text().strip()
    except OSError as exc:
        raise LinkConfigError(
            f"{path}: {exc.strerror}: run gatepass-server broker-config"
        ) from None


async def _wait(event: asyncio.Event, seconds: float) -> bool:
    """Wait for ``event`` at most ``seconds``; a cancellation always propagates (3.11's
    ``wait_for`` can turn a cancel that races its timeout into a TimeoutError)."""
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        return False
    return True


def _status(site: str, state: Lifecycle, now: int) -> bytes:
    software = version("gatepass")[:64]
    return messages.encode(ServerStatus(site=site, state=state, at=now * 1000, software=software))


def _mqtt_settings(env: Env, site: str, password: str) -> MqttSettings:
    """How the server reaches its broker: its own account and client id, the gates' topics."""
    s = env.settings
    assert s.mqtt_host is not None
    status_topic = str(site_topic(site, TopicKind.SERVER_STATUS))
    return MqttSettings(
        host=s.mqtt_host,
        port=s.mqtt_port,
        username=SERVER_ACCOUNT,
        password=password,
        client_id=SERVER_ACCOUNT,  # what the broker enforces (use_username_as_clientid)
        subscriptions=tuple(all_gates(site, kind) for kind in INGESTED + ANSWERED),
        will_topic=status_topic,
        will_payload=_status(site, Lifecycle.OFFLINE, env.clock.now()),
        keepalive_s=s.mqtt_keepalive_s,
        session_expiry_s=s.mqtt_session_expiry_s,
        tls_ca=Path(s.mqtt_tls_ca) if s.mqtt_tls_ca else None,
    )


class ServerLink:
    """Owns the broker session and the three background tasks."""

    def __init__(self, env: Env, site: str, password: str) -> None:
        self.env, self.site, self.hub = env, site, env.hub
        settings = _mqtt_settings(env, site, password)
        self.status_topic = settings.will_topic
        self.mqtt = MqttClient(
            settings, on_messages=self._on_messages, on_connection=self._on_connection
        )
        self.ingest = Ingest(env, site, self.mqtt, on_revocations=self.poke)
        self.times = TimeAnswers(env, site)
        self._time_requests: asyncio.Queue[Inbound] = asyncio.Queue(maxsize=1000)
        self._force = asyncio.Event()
        self._poke = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.published: dict[str, int] = {}

    @classmethod
    async def from_env(cls, env: Env) -> ServerLink | None:
        """The link for ``env``, or None when no broker is configured."""
        if env.settings.mqtt_host is None:
            return None
        try:
            site = await site_id(env)
        except Conflict as exc:
            raise LinkConfigError(str(exc)) from None
        return cls(env, site, server_password(env))

    @property
    def connected(self) -> bool:
        """Whether the broker session is up."""
        return self.mqtt.connected.is_set()

    async def publish_wait(
        self, topic: str, payload: bytes, *, retain: bool = False, wait_s: float = 10.0
    ) -> bool:
        """Publish and wait for the broker's PUBACK (commands)."""
        return await self.mqtt.publish_wait(topic, payload, retain=retain, wait_s=wait_s)

    def poke(self) -> None:
        """Look for something to publish now instead of at the next poll."""
        self._poke.set()

    async def start(self) -> None:
        """Connect and start ingest, publisher and monitor."""
        await self.mqtt.start()
        for name, work in (
            ("ingest", self.ingest.run),
            ("publisher", self._publisher),
            ("monitor", self._monitor),
            ("timekeeper", self._timekeeper),
        ):
            self._tasks.append(asyncio.create_task(work(), name=f"mqtt-{name}"))

    async def stop(self) -> None:
        """Finish the batch in hand, say ``offline``, disconnect; unacked messages stay queued."""
        await _wait(self.ingest.idle, DRAIN_S)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        final = _status(self.site, Lifecycle.OFFLINE, self.env.clock.now())
        await self.mqtt.stop(final=(self.status_topic, final))

    def describe(self) -> LinkReport:
        """The link's state for the API and logs."""
        s, stats = self.mqtt.state, self.ingest.stats
        return LinkReport(
            connected=s.connected,
            session_present=s.session_present,
            connects=s.connects,
            granted=dict(s.granted),
            last_error=s.last_error,
            queue=self.ingest.queued,
            received=stats.received,
            stored=stats.stored,
            duplicates=stats.duplicates,
            dead_letters=stats.dead,
            retries=stats.retries,
            stalled=stats.stalled_since is not None,
            published=dict(self.published),
            live_subscribers=self.hub.subscribers,
        )

    def _on_messages(self, items: list[Inbound]) -> None:
        """A burst of inbound messages from the adapter, on the loop: time requests to the
        timekeeper, everything else straight to ingest."""
        if any(m.topic.endswith(_TIME_LEVEL) for m in items):
            for m in items:
                if m.topic.endswith(_TIME_LEVEL):
                    self._ask_time(m)
            items = [m for m in items if not m.topic.endswith(_TIME_LEVEL)]
        self.ingest.submit(items)

    def _ask_time(self, message: Inbound) -> None:
        try:
            self._time_requests.put_nowait(message)
        except asyncio.QueueFull:  # a flood: the gates ask again in a few seconds
            self.mqtt.ack(message)

    async def _timekeeper(self) -> None:
        """Answer each time request at once, signed; then PUBACK it."""
        while True:
            message = await self._time_requests.get()
            try:
                if parse_topic(message.topic).kind in ANSWERED:
                    answer = await self.times.answer(message.topic, message.payload)
                    if answer is not None:
                        self.mqtt.publish(*answer)
            except (MessageError, TopicError) as exc:
                logger.warning("time request on %s refused: %s", message.topic[:120], exc)
            except Exception:  # no control key, the database busy: the gate asks again
                logger.exception("time request on %s not answered", message.topic[:120])
            self.mqtt.ack(message)

    def _on_connection(self, up: bool) -> None:
        if up:
            self._force.set()
            self._poke.set()
        self.hub.publish({"type": "link", "up": up})

    async def _publisher(self) -> None:
        while True:
            await self.mqtt.connected.wait()
            force = self._force.is_set()
            self._force.clear()
            try:
                await self._sync(force)
            except ConnectionError as exc:  # the link dropped mid-way: all again at reconnect
                logger.warning("publishing interrupted: %s", exc)
                self._force.set()
            except Exception:  # a signing key missing, the database busy: log, retry next poll
                logger.exception("publishing to the gates failed; retrying")
                if force:
                    self._force.set()
            await _wait(self._poke, POLL_S)
            self._poke.clear()

    async def _sync(self, force: bool) -> None:
        env, site = self.env, self.site
        if force:
            online = _status(site, Lifecycle.ONLINE, env.clock.now())
            await self.mqtt.publish_wait(self.status_topic, online, retain=True)
        manifest = await publishing.last_published(env, MANIFEST)
        seq = None if manifest is None else manifest.seq
        await self._send(
            MANIFEST,
            await publishing.manifest_update(env, site, published_seq=seq, force=force),
        )
        revocations = await publishing.last_published(env, REVOCATIONS)
        await self._send(
            REVOCATIONS,
            await publishing.revocation_update(env, site, published=revocations, force=force),
        )
        for config in await publishing.config_updates(env, site, force=force):
            await self._send("config", config)

    async def _send(
        self, kind: str, update: Update[Published] | Update[ConfigVersion] | None
    ) -> None:
        if update is None:
            return
        for message in update.messages:
            if not await self.mqtt.publish_wait(
                message.topic, message.payload, retain=message.retain
            ):
                raise ConnectionError(f"no PUBACK for {message.topic}")
        await publishing.record(self.env, update)
        if isinstance(update.record, Published):
            self.published[kind] = update.record.seq
            logger.info("published %s %s", kind, update.record.seq)
        else:
            logger.info("published config %s to %s", update.record.version, update.record.gate)

    async def _monitor(self) -> None:
        takeovers = 0  # of our own session, as last held in the database
        while True:
            await asyncio.sleep(MONITOR_S)
            try:
                alerts = await gate_health.monitor(self.env)
                recent = self.mqtt.recent_takeovers()
                if recent != takeovers:
                    alerts += await gate_health.own_session(self.env, recent)
                    takeovers = recent
                for alert in alerts:
                    self.hub.publish({"type": "alert", "alert": alert})
            except Exception:
                logger.exception("gate monitor failed; retrying")
