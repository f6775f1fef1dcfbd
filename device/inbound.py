"""Everything the broker delivers to the gate, checked and applied; nothing here can crash it.

Acks delete outbox rows; manifest, revocation lists and config go through the trust store
(signed, newer, stored; a new config re-subscribes to the peers it names); commands go to
``device.commands``; the named peers' presence updates anti-passback (``device.presence``:
never locks, never retained, times clamped); the server's signed time answers go to
``device.timesync``. The server's status vouches for nothing (it may be a retained one minutes
old, and it is unsigned): its ``online`` only makes the gate ask the time and resend what the
server has not acknowledged at once, as after a reconnect (the server may have lost it). A
message that is malformed, unsigned, old, oversize, retained where nothing may be retained, or
from a gate that is no peer, is refused with a logged reason, and the last good state is kept.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from device.commands import CommandRunner
from device.link.mqtt import Inbound, MqttClient
from device.presence import heard, peer_filters
from device.publisher import Drainer
from device.runtime import Runtime
from device.store.db import StoreError
from device.timesync import TimeSync
from protocol import messages, topics
from protocol.errors import (
    MessageError,
    PeerRefused,
    SequenceGap,
    StaleUpdate,
    TopicError,
    UntrustedMessage,
)
from protocol.messages import Ack, Lifecycle, ServerStatus
from protocol.topics import Topic, TopicKind

logger = logging.getLogger(__name__)


class InboundRouter:
    """Routes each inbound message by its topic kind."""

    def __init__(
        self,
        rt: Runtime,
        link: MqttClient,
        drainer: Drainer,
        commands: CommandRunner,
        timesync: TimeSync,
    ) -> None:
        self.rt, self.link, self.drainer, self.commands = rt, link, drainer, commands
        self.timesync = timesync
        self.refused = 0
        self._parked: dict[TopicKind, Inbound] = {}  # signed before we knew the signer's key
        self._handlers: dict[TopicKind, Callable[[Topic, bytes], Awaitable[None]]] = {
            TopicKind.ACKS: self._ack,
            TopicKind.MANIFEST: self._manifest,
            TopicKind.REVOCATIONS_FULL: self._full,
            TopicKind.REVOCATIONS_DELTA: self._delta,
            TopicKind.CONFIG: self._config,
            TopicKind.COMMANDS: self._command,
            TopicKind.PRESENCE: self._presence,
            TopicKind.SERVER_STATUS: self._server_status,
            TopicKind.TIME: self._time,
        }

    async def run(self) -> None:
        """Handle messages one at a time, in arrival order."""
        while True:
            await self.handle(await self.link.inbox.get())

    async def handle(self, item: Inbound) -> None:
        """One message; refusals are logged and counted, never raised."""
        try:
            topic = topics.parse_topic(item.topic)
            if topic.site != self.rt.settings.gate.site:
                raise TopicError(f"message for site {topic.site}")
            handler = self._handlers.get(topic.kind)
            if handler is None or (
                topic.gate not in (None, self._gate) and topic.kind != TopicKind.PRESENCE
            ):
                raise TopicError(f"not a topic this gate reads: {item.topic[:120]}")
            if item.retain and not topic.spec.retained:
                raise PeerRefused(f"retained message on {topic.kind.value}, which keeps none")
            await handler(topic, item.payload)
        except UntrustedMessage as exc:
            self._park(item, exc)
        except StaleUpdate as exc:
            # every reconnect re-delivers the retained manifest, list and config we already hold
            self.refused += 1
            logger.info("already applied %s: %s", item.topic[:120], exc)
        except (MessageError, TopicError) as exc:
            self.refused += 1
            logger.warning("refused %s: %s: %s", item.topic[:120], type(exc).__name__, exc)
        except StoreError as exc:  # applied in memory; a full disk is the store's fault to show
            logger.error("could not store what %s brought: %s", item.topic[:120], exc)

    def _park(self, item: Inbound, exc: UntrustedMessage) -> None:
        """Keep the latest untrusted config or list: a newer manifest may make it verifiable."""
        self.refused += 1
        logger.warning("refused %s for now: %s", item.topic[:120], exc)
        kind = topics.parse_topic(item.topic).kind
        if kind in (TopicKind.CONFIG, TopicKind.REVOCATIONS_FULL):
            self._parked[kind] = item

    @property
    def _gate(self) -> str:
        return self.rt.settings.gate.id

    async def _ack(self, topic: Topic, payload: bytes) -> None:
        """The rows the server refused become dead letters first, then the window moves."""
        ack = messages.decode(TopicKind.ACKS, payload, Ack)
        if (ack.site, ack.gate) != (self.rt.settings.gate.site, self._gate):
            raise MessageError(f"ack addressed to {ack.site}/{ack.gate}")
        if ack.refused:
            await self.drainer.on_refused(ack.refused)
        await self.drainer.on_ack(ack.seq)

    async def _manifest(self, topic: Topic, payload: bytes) -> None:
        manifest = await self.rt.trust.on_manifest(payload)
        await self._vouch(manifest.issued_at)
        if not self.rt.server_synced:
            self.timesync.poke()  # an answer that came before the control key is known is lost
        parked, self._parked = list(self._parked.values()), {}
        for item in parked:
            await self.handle(item)

    async def _full(self, topic: Topic, payload: bytes) -> None:
        state = await self.rt.trust.on_full(payload)
        await self.rt.apply_unlocks()
        await self._vouch(state.issued_at)

    async def _delta(self, topic: Topic, payload: bytes) -> None:
        try:
            state = await self.rt.trust.on_delta(payload)
        except SequenceGap:
            logger.warning("revocation delta gap: reading the full list again")
            full = topics.site_topic(self.rt.settings.gate.site, TopicKind.REVOCATIONS_FULL)
            self.link.subscribe(str(full))
            raise
        await self.rt.apply_unlocks()
        await self._vouch(state.issued_at)

    async def _config(self, topic: Topic, payload: bytes) -> None:
        config = await self.rt.trust.on_config(payload)
        logger.info("applied config version %d", config.version)
        self.link.follow(peer_filters(self.rt.settings.gate.site, config))
        await self._vouch(config.issued_at)

    async def _command(self, topic: Topic, payload: bytes) -> None:
        await self.commands.handle(payload)

    async def _presence(self, topic: Topic, payload: bytes) -> None:
        """A named peer let a pass through: anti-passback presence, nothing else."""
        if topic.gate == self._gate:
            return  # our own presence, if the broker ever echoes it
        applied = heard(self.rt, topic, payload)
        if applied is None or applied[1] is self.rt.state:
            return
        ref, self.rt.state = applied
        await self.rt.store.save_state(self.rt.state, [ref])

    async def _server_status(self, topic: Topic, payload: bytes) -> None:
        """``online``: ask the time and resend the unacknowledged at once (the server may have
        come back with a broker that lost our events); the clock's trust is left alone."""
        status = messages.decode(TopicKind.SERVER_STATUS, payload, ServerStatus)
        if status.state != Lifecycle.ONLINE:
            return
        self.timesync.poke()
        self.drainer.on_reconnect()  # whatever was sent before this status is sent again

    async def _time(self, topic: Topic, payload: bytes) -> None:
        await self.timesync.on_answer(payload)

    async def _vouch(self, known_good: int) -> None:
        """Signed server data (or the server's clock) proves the time is at least this."""
        if known_good > self.rt.floor:
            self.rt.floor = known_good
            await self.rt.store.raise_time_floor(known_good)
        self.rt.status_changed.set()
