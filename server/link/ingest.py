"""The ingest worker: batches of MQTT messages into the store, then acks, in that order.

One asyncio task takes what the broker adapter handed over, validates each message
(server.services.ingest.classify), commits the batch in one write transaction
(server.services.ingest.commit) and only then
(1) publishes each gate's application-level ack (highest contiguous settled seq) and
(2) sends the broker's PUBACK for every message of the batch (paho's manual acks).

An ack that names refused events (``Ack.refused``, at most ``MAX_REFUSED`` a message, several
messages in seq order) is followed by the same ack without them: a gate of the previous
version refuses the first kind (an unknown field) and lets the refused rows go on the second,
while a gate of this version has moved them to its dead-letter table by then.

Failures never wedge the link. A database that cannot commit (locked, disk full, I/O error)
holds the batch unacknowledged and retries with back-off: the gates keep their outboxes and the
broker keeps the messages. Anything else that fails is a poison message: the batch is retried
one message at a time and the one that still fails goes to the dead-letter table and is acked,
so it is never redelivered in a loop.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from protocol import messages
from protocol.messages import MAX_REFUSED, Ack, GateEvent, Refusal
from protocol.reasons import RefusalCode
from protocol.topics import TopicKind, gate_topic
from server.link.mqtt import Inbound
from server.services.context import Env
from server.services.errors import Unavailable
from server.services.ingest.classify import classify
from server.services.ingest.commit import commit_batch, dead_letter_alone
from server.services.ingest.model import Accepted, BatchResult, Item, Message, Rejected

logger = logging.getLogger(__name__)

MAX_BATCH = 2000  # as many as the broker may have in flight; a backlog drains in few commits
LINGER_S, LINGER_BELOW = 0.01, 100  # a small batch waits 10 ms for company (group commit)
RETRY_MIN_S, RETRY_MAX_S = 0.05, 5.0


class Transport(Protocol):
    """What ingest needs from the broker adapter."""

    def ack(self, message: Inbound) -> None:
        """PUBACK one inbound message."""

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> bool:
        """QoS 1 publish without waiting for the PUBACK."""


@dataclass
class IngestStats:
    """Counters for the link's status page and the benchmark."""

    received: int = 0
    stored: int = 0
    duplicates: int = 0
    dead: int = 0
    batches: int = 0
    retries: int = 0
    stalled_since: float | None = None  # monotonic time of the first failed commit of a stall


class Ingest:
    """Consumes inbound messages; ``submit`` is called on the event loop by the adapter."""

    def __init__(
        self,
        env: Env,
        site: str,
        transport: Transport,
        on_revocations: Callable[[], None] | None = None,
    ) -> None:
        self.env, self.site, self.transport, self.hub = env, site, transport, env.hub
        self.on_revocations = on_revocations  # the publisher's poke: a lock was recorded
        self._inbox: collections.deque[Inbound] = collections.deque()
        self._arrived = asyncio.Event()
        self.stats = IngestStats()
        self.idle = asyncio.Event()
        self.idle.set()
        self.committed = asyncio.Event()  # set after every batch (benchmarks, tests)

    @property
    def queued(self) -> int:
        """Messages received and not yet taken into a batch."""
        return len(self._inbox)

    def submit(self, items: list[Inbound]) -> None:
        """Take a burst of messages from the adapter (runs on the loop, never blocks)."""
        if not items:
            return
        self.stats.received += len(items)
        self.idle.clear()
        self._inbox.extend(items)
        self._arrived.set()

    async def run(self) -> None:
        """Process batches forever (cancelled by the link's stop)."""
        while True:
            await self._arrived.wait()
            if len(self._inbox) < LINGER_BELOW:
                await asyncio.sleep(LINGER_S)  # group commit: one fsync for a burst, not each
            take = min(len(self._inbox), MAX_BATCH)
            batch = [self._inbox.popleft() for _ in range(take)]
            if not self._inbox:
                self._arrived.clear()
            await self.handle(batch)
            if not self._inbox:
                self.idle.set()

    async def handle(self, batch: list[Inbound]) -> BatchResult:
        """Commit one batch, then ack to the gates, then PUBACK to the broker."""
        now = self.env.clock.now()
        oldest_ms = (now - self.env.settings.retention_event_days * 86400) * 1000
        items = [
            classify(self.site, _message(m), now_ms=now * 1000, oldest_ms=oldest_ms) for m in batch
        ]
        result = await self._commit_retrying(items)
        self._send_acks(result, now)
        for message in batch:
            self.transport.ack(message)
        self.stats.batches += 1
        self.stats.stored += result.stored
        self.stats.duplicates += result.duplicates
        self.stats.dead += result.dead
        for notice in result.notices:
            self.hub.publish(notice)
        if result.revocations_changed and self.on_revocations is not None:
            self.on_revocations()
        self.committed.set()
        return result

    def _send_acks(self, result: BatchResult, now: int) -> None:
        for gate, seq in result.acks.items():
            if seq <= 0:
                continue
            topic = str(gate_topic(self.site, gate, TopicKind.ACKS))
            refused = result.refused.get(gate, {})
            for ack in acks_for(self.site, gate, seq, refused, at=now * 1000):
                self.transport.publish(topic, messages.encode(ack))

    async def _commit_retrying(self, items: list[Item]) -> BatchResult:
        delay = RETRY_MIN_S
        while True:
            try:
                result = await self._commit(items)
            except Unavailable as exc:
                self.stats.retries += 1
                if self.stats.stalled_since is None:
                    self.stats.stalled_since = time.monotonic()
                logger.warning(
                    "ingest cannot commit (%s): holding %d messages, retrying in %.2f s",
                    exc,
                    len(items),
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_S)
                continue
            if self.stats.stalled_since is not None:
                stalled = time.monotonic() - self.stats.stalled_since
                logger.warning("ingest commits again after %.1f s", stalled)
                self.stats.stalled_since = None
            return result

    async def _commit(self, items: list[Item]) -> BatchResult:
        """Commit all; on a non-database failure, commit one by one and dead-letter the culprit."""
        try:
            return await commit_batch(self.env, items)
        except Unavailable:
            raise
        except Exception as exc:
            if len(items) == 1:
                return await self._poison(items[0], exc)
            logger.warning("batch of %d failed (%r); retrying message by message", len(items), exc)
        merged = BatchResult()
        for item in items:
            merged.merge(await self._commit([item]))
        return merged

    async def _poison(self, item: Item, error: Exception) -> BatchResult:
        """Dead-letter a message whose handling fails, so it is acked instead of redelivered."""
        logger.error("ingest failed on %s", item.message.topic[:120], exc_info=error)
        gate = item.gate
        detail = f"{type(error).__name__}: {error}"
        seq = item.seq if isinstance(item, Rejected) else None
        if isinstance(item, Accepted) and isinstance(item.body, GateEvent):
            seq = item.body.seq
        rejected = Rejected(item.message, "handler_error", detail[:500], gate, seq=seq)
        try:
            return await dead_letter_alone(self.env, rejected)
        except Unavailable:
            raise
        except Exception:  # not even a dead letter can be written: log it, ack it, move on
            logger.exception("could not dead-letter a message on %s", item.message.topic[:120])
        return BatchResult()


def _message(inbound: Inbound) -> Message:
    """What ingest validates: the topic, the payload, the seq its user property names and
    whether it came retained."""
    seq = messages.seq_from_properties(inbound.user)
    return Message(inbound.topic, inbound.payload, seq, retain=inbound.retain)


def acks_for(
    site: str, gate: str, seq: int, refused: dict[int, RefusalCode], *, at: int
) -> list[Ack]:
    """The acks that settle everything up to ``seq``: first those naming the refused seqs (in
    seq order, each one's seq below the next one's first refusal, so a gate never lets a row
    go before it heard whether it was refused), then, if there were any, the plain ack a gate
    of the previous version understands."""
    named = [Refusal(seq=s, reason=code) for s, code in sorted(refused.items()) if s <= seq]
    chunks = [named[i : i + MAX_REFUSED] for i in range(0, len(named), MAX_REFUSED)]
    acks = []
    for i, chunk in enumerate(chunks):
        upto = chunks[i + 1][0].seq - 1 if i + 1 < len(chunks) else seq
        acks.append(Ack(site=site, gate=gate, seq=upto, at=at, refused=chunk))
    acks.append(Ack(site=site, gate=gate, seq=seq, at=at))
    return acks
