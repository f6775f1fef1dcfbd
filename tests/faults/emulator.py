"""A gate for the link's tests, built from the gate's real parts until `gatepass-gate run` lands.

It holds a real ``device.store.outbox.GateStore`` (SQLite outbox, seqs, deletion only on the
server's ack), a real ``device.link.mqtt.MqttClient`` (persistent session, retained status with
a Last Will) and a real ``device.trust.TrustStore`` (verifies and applies the manifest,
revocation lists and config, checks commands). What it lacks is the lane: tests call
``decide()`` to record decisions, and ``verify()`` to check a pass as the gate would.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from device.link.mqtt import MqttClient, MqttSettings
from device.store.outbox import GateStore
from device.trust import CommandRejected, TrustStore
from protocol import messages
from protocol.errors import MessageError
from protocol.keys import public_from_raw
from protocol.messages import (
    Ack,
    CommandOutcome,
    CommandResult,
    EventKind,
    GateEvent,
    GateStatus,
    LaneDirection,
    Lifecycle,
    Mode,
)
from protocol.passes import verify
from protocol.reasons import ReasonCode
from protocol.topics import TopicKind, gate_topic, parse_topic, site_topic

logger = logging.getLogger(__name__)

BATCH = 100


async def _wait(event: asyncio.Event, seconds: float) -> None:
    """Wait for ``event`` at most ``seconds`` (asyncio.timeout: a cancel is never swallowed)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()


@dataclass
class GateEmulator:
    """One gate: outbox, link, trust store; ``committed`` lists every event id it recorded."""

    site: str
    gate: str
    lane: LaneDirection
    password: str
    host: str
    port: int
    root_hex: str
    data_dir: Path
    resend_after_s: float = 3.0
    committed: list[str] = field(default_factory=list)
    results: list[str] = field(default_factory=list)
    boot_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    stopped: bool = False

    def topic(self, kind: TopicKind) -> str:
        return str(gate_topic(self.site, self.gate, kind))

    def status(self, state: Lifecycle, depth: int = 0) -> bytes:
        trust: TrustStore | None = getattr(self, "trust", None)
        state_now = None if trust is None else trust.applied.revocations
        body = GateStatus(
            site=self.site,
            gate=self.gate,
            state=state,
            at=int(time.time() * 1000),
            boot_id=self.boot_id,
            software="emulator",
            mode=Mode.NORMAL,
            clock_trusted=True,
            outbox_depth=depth,
            revocation_seq=None if state_now is None else state_now.seq,
        )
        return messages.encode(body)

    async def start(self) -> None:
        self.store = await GateStore.open(
            self.data_dir / "gate.db", max_events=100_000, reseed=int(time.time() * 1000)
        )
        root = public_from_raw(bytes.fromhex(self.root_hex))
        self.trust = TrustStore(self.site, self.gate, root, self.store)
        await self.trust.restore()  # what it trusted before a restart, re-verified
        own = (TopicKind.ACKS, TopicKind.CONFIG, TopicKind.COMMANDS)
        shared = (TopicKind.MANIFEST, TopicKind.REVOCATIONS_FULL, TopicKind.REVOCATIONS_DELTA)
        settings = MqttSettings(
            host=self.host,
            port=self.port,
            username=self.gate,
            password=self.password,
            client_id=self.gate,
            # manifest first, as the real gate: the broker sends retained messages in the order
            # of the subscriptions, and a config that arrives before the manifest's keys are
            # known is refused here (the real gate parks it; this emulator does not)
            subscriptions=(
                *(str(site_topic(self.site, k)) for k in shared),
                *(self.topic(k) for k in own),
            ),
            will_topic=self.topic(TopicKind.STATUS),
            will_payload=self.status(Lifecycle.OFFLINE),
            reconnect_min_s=0.1,
            reconnect_max_s=0.5,
        )
        self.link = MqttClient(settings)
        self.wake = asyncio.Event()  # a new event was recorded, or an ack arrived (sender)
        self.acked = asyncio.Event()  # an ack removed rows (drained)
        self.applied = asyncio.Event()  # a revocation list was applied
        self.configured = asyncio.Event()  # a config was applied
        self.last_ack = time.monotonic()
        await self.link.start()
        self.tasks = [asyncio.create_task(self._inbox()), asyncio.create_task(self._sender())]

    async def stop(self) -> None:
        """Stop cleanly (an ``offline`` status, then disconnect); idempotent."""
        if self.stopped:
            return
        self.stopped = True
        pending = set(self.tasks)
        while pending:  # device.link's publish_wait (3.11 wait_for) can swallow one cancel: repeat
            for task in pending:
                task.cancel()
            _done, pending = await asyncio.wait(pending, timeout=1.0)
        final = self.status(Lifecycle.OFFLINE, self.store.depth)
        await self.link.stop((self.topic(TopicKind.STATUS), final))
        await self.store.close()

    async def decide(self, count: int = 1, **fields: Any) -> list[GateEvent]:
        """Record ``count`` decisions in the outbox (offline flag from the link's state)."""
        events = []
        for i in range(count):
            event = GateEvent(
                kind=EventKind.DECISION,
                event_id=str(uuid.uuid4()),
                site=self.site,
                gate=self.gate,
                seq=self.store.next_seq + i,
                boot_id=self.boot_id,
                at=int(time.time() * 1000),
                clock_trusted=True,
                lane=self.lane,
                offline=not self.link.connected.is_set(),
                granted=True,
                reason=ReasonCode.OK,
            )
            events.append(msgspec.structs.replace(event, **fields))
        await self.store.record(events)
        self.committed += [e.event_id for e in events]
        self.wake.set()
        return events

    async def drained(self, within_s: float = 30.0) -> None:
        """Wait until the server acked every recorded event."""
        async with asyncio.timeout(within_s):
            while self.store.depth:
                self.acked.clear()
                if self.store.depth:
                    await _wait(self.acked, 1.0)

    def verify(self, text: str, now: int) -> Any:
        """Check a pass as the gate does (signature, windows, revocation list)."""
        return verify(text, self.trust.for_passes(), now)

    async def _sender(self) -> None:
        """Publish the outbox oldest first; resend all unacked after a reconnect or a silence."""
        while not self.stopped:
            await self.link.connected.wait()
            status = self.status(Lifecycle.ONLINE, self.store.depth)
            if not await self.link.publish_wait(self.topic(TopicKind.STATUS), status, retain=True):
                continue
            await self._publish_outbox()

    async def _publish_outbox(self) -> None:
        last_sent, resent = 0, time.monotonic()
        while self.link.connected.is_set() and not self.stopped:
            batch = await self.store.pending(last_sent, BATCH)
            if not batch:
                self.wake.clear()
                await _wait(self.wake, self.resend_after_s)
                quiet = time.monotonic() - max(self.last_ack, resent)
                if self.store.depth and quiet > self.resend_after_s:
                    last_sent, resent = 0, time.monotonic()  # no ack came: send all unacked again
                continue
            for pending in batch:
                if not await self.link.publish_wait(self.topic(TopicKind.EVENTS), pending.payload):
                    return
                last_sent = pending.seq

    async def _inbox(self) -> None:
        while True:
            item = await self.link.inbox.get()
            try:
                await self._handle(item.topic, item.payload)
            except MessageError as exc:
                logger.info("%s refused %s: %s", self.gate, item.topic, exc)

    async def _handle(self, topic: str, payload: bytes) -> None:
        kind = parse_topic(topic).kind
        if kind == TopicKind.ACKS:
            ack = messages.decode(TopicKind.ACKS, payload, Ack)
            if await self.store.ack(ack.seq):
                self.last_ack = time.monotonic()
                self.acked.set()
        elif kind == TopicKind.MANIFEST:
            await self.trust.on_manifest(payload)
        elif kind == TopicKind.REVOCATIONS_FULL:
            await self.trust.on_full(payload)
            self.applied.set()
        elif kind == TopicKind.REVOCATIONS_DELTA:
            await self.trust.on_delta(payload)
            self.applied.set()
        elif kind == TopicKind.CONFIG:
            await self.trust.on_config(payload)
            self.configured.set()
        elif kind == TopicKind.COMMANDS:
            await self._command(payload)

    async def _command(self, payload: bytes) -> None:
        try:
            command = await self.trust.open_command(payload, int(time.time()))
            outcome, request_id = CommandOutcome.DONE, command.request_id
        except CommandRejected as exc:
            outcome, request_id = exc.outcome, exc.command.request_id
        self.results.append(request_id)
        at = int(time.time() * 1000)
        result = CommandResult(
            site=self.site, gate=self.gate, request_id=request_id, at=at, outcome=outcome
        )
        await self.link.publish_wait(self.topic(TopicKind.COMMAND_RESULTS), messages.encode(result))
