"""Outbox → broker, oldest first; a row leaves the outbox only when the server acks its seq.

The broker's PUBACK proves nothing about the server's database, so the drainer does not wait
for it: it keeps up to ``MAX_UNACKED`` events in flight and moves on as the server's
application-level acks arrive (``acks`` topic: highest contiguous seq settled). Anything not
acked within ``resend_after_s`` (or after a reconnect) is sent again; the server stores each
event once. An event the server refused comes back named in the ack (``Ack.refused``) and moves
to the gate's dead-letter table (``on_refused``) instead of being sent again. Events sent again
after a silence carry their seq in an MQTT 5 user property, so the server can name even a
payload it cannot read (the JSON of an ordinary event names its seq itself; the property costs
tens of microseconds a publish, too much for every event of a backlog).

A backlog drains in batches that yield to the event loop every millisecond and hold back while
a person's scan is verified and committed (``Runtime.calm``), and paho is handed at most
``BROKER_WINDOW`` events the broker has not confirmed, so a live scan is never stuck behind
them, neither on the loop nor on paho's thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from device.link.mqtt import MqttClient
from device.runtime import Runtime
from device.store.db import StoreError
from device.store.outbox import Pending
from protocol import topics
from protocol.messages import Refusal, seq_property
from protocol.topics import TopicKind

logger = logging.getLogger(__name__)

MAX_UNACKED = 600  # events sent but not yet acked; paho's queue (1000) keeps room for status
PRUNE_EVERY_S = 0.2
PRUNE_CHUNK = 100  # acked rows deleted per transaction (a few ms at most)
CHECKPOINT_EVERY_S = 5.0  # the WAL is copied back at least this often, even offline
RETRY_S = 0.5
SLICE_S = 0.001  # longest stretch of publishing before a live scan gets the loop back
BROKER_WINDOW = 48  # publishes paho holds unconfirmed by the broker: all a scan competes with


class Pace:
    """At most ``rate`` events a second over any stretch of sending (a token bucket holding
    one slice's worth), so a backlog leaves the CPU room for the people at the lane."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.burst = max(1.0, rate * SLICE_S)
        self.tokens = self.burst
        self.at = 0.0

    def delay(self, now: float) -> float:
        """Seconds to wait before the next event may go (0: go now, and it is counted)."""
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < 1.0:
            return (1.0 - self.tokens) / self.rate
        self.tokens -= 1.0
        return 0.0


class Drainer:
    """Publishes the outbox and applies the server's acks."""

    def __init__(self, rt: Runtime, link: MqttClient) -> None:
        self.rt, self.link = rt, link
        self.topic = str(
            topics.gate_topic(rt.settings.gate.site, rt.settings.gate.id, TopicKind.EVENTS)
        )
        self.acked = 0
        self.sent = 0
        self._pruned = 0  # rows up to this seq are deleted
        self._silent_upto = 0  # seqs sent again after a silence go with their seq property
        self._acked = asyncio.Event()
        self._progress_at = 0.0  # loop time of the last ack (or of catching up)
        self.pace = Pace(rt.settings.outbox.drain_rate)

    async def start(self) -> None:
        """Everything below the store's floor is already acked; what a previous run left in
        the outbox may have been sent already, so it goes with its seq property."""
        self.acked = self.sent = self._pruned = await self.rt.store.floor_seq() - 1
        self._silent_upto = self.rt.store.next_seq - 1

    async def on_ack(self, seq: int) -> None:
        """The server committed every seq up to ``seq``; the rows go in the next prune."""
        if seq <= self.acked:
            return
        self.acked = seq
        self.sent = max(self.sent, seq)
        self._progress_at = asyncio.get_running_loop().time()
        self._acked.set()
        self.rt.wake.set()  # there is room for more

    async def prune(self) -> None:
        """Delete acked rows a few times a second, then checkpoint the WAL; checkpoint at least
        every ``CHECKPOINT_EVERY_S`` (offline, nothing is acked but every decision grows it).

        A backlog's acks arrive one per event, and a delete (and its fsync) per ack would slow
        the drain and every live commit; so rows go in chunks of ``PRUNE_CHUNK``, each started
        only while no person is being decided."""
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(CHECKPOINT_EVERY_S):
                    await self._acked.wait()
                await asyncio.sleep(PRUNE_EVERY_S)
            self._acked.clear()
            try:
                await self._prune_round(self.acked)
            except StoreError as exc:  # a full or failing disk: the rows stay, nothing is lost
                logger.warning("outbox prune or checkpoint failed (%s); trying again later", exc)

    async def _prune_round(self, upto: int) -> None:
        while upto > self._pruned:
            await self.rt.calm.wait()  # a delete's fsync never sits before a person's commit
            if await self.rt.store.ack(upto, limit=PRUNE_CHUNK) < PRUNE_CHUNK:
                self._pruned = upto
                self.rt.status_changed.set()
        await self.rt.calm.wait()
        await self.rt.store.checkpoint()

    async def on_refused(self, refusals: list[Refusal]) -> None:
        """The server will never store these: their rows move to the dead-letter table (before
        the ack that covers them lets the rest of the window go)."""
        pairs = [(r.seq, r.reason) for r in refusals]
        await self.rt.calm.wait()  # its fsync never sits before a person's commit
        moved = await self.rt.store.refuse(pairs, int(self.rt.clock.wall() * 1000))
        if not moved:
            return  # heard again: the rows moved when it was first heard
        for refusal in refusals:
            logger.error(
                "the server refused event seq %d (%s): kept as a dead letter",
                refusal.seq,
                refusal.reason.value,
            )
        self.rt.status_changed.set()

    def on_reconnect(self) -> None:
        """After a reconnect (or the server's announcing itself), everything unacked is sent
        again, with its seq property: the server may have seen and refused it already."""
        self._silent_upto = max(self._silent_upto, self.sent)
        self.sent = self.acked
        self.rt.wake.set()

    async def run(self) -> None:
        """Drain forever: wait for the link and for room, send a batch, resend on silence."""
        while True:
            await self.link.connected.wait()
            self._resend_if_silent()
            room = MAX_UNACKED - (self.sent - self.acked)
            batch = min(self.rt.settings.outbox.drain_batch, room)
            await self.rt.calm.wait()
            pending = await self.rt.store.pending(self.sent, batch) if batch > 0 else []
            if not pending:
                await self._idle()
                continue
            await self._send(pending)

    async def _send(self, pending: list[Pending]) -> None:
        """Publish a batch, giving the loop back every ``SLICE_S`` so a live scan is never
        queued behind hundreds of publishes."""
        loop = asyncio.get_running_loop()
        slice_end = loop.time() + SLICE_S
        for item in pending:
            while wait := self.pace.delay(loop.time()):
                await asyncio.sleep(wait)
                await self.rt.calm.wait()
                slice_end = loop.time() + SLICE_S
            if self.link.unconfirmed >= BROKER_WINDOW:
                await self.link.wait_room(BROKER_WINDOW // 2, RETRY_S)
                await self.rt.calm.wait()
                slice_end = loop.time() + SLICE_S
            user = (seq_property(item.seq),) if item.seq <= self._silent_upto else ()
            if not self.link.publish(self.topic, item.payload, user=user):
                await asyncio.sleep(RETRY_S)  # not connected, or paho's queue is full
                return
            self.sent = item.seq
            if loop.time() > slice_end:
                await asyncio.sleep(0)
                await self.rt.calm.wait()  # a person's scan goes first
                slice_end = loop.time() + SLICE_S
        await asyncio.sleep(0)

    def _resend_if_silent(self) -> None:
        """No ack for ``resend_after_s`` while events are out: send them again from the ack."""
        now = asyncio.get_running_loop().time()
        if self.sent <= self.acked:
            self._progress_at = now
        elif now - self._progress_at > self.rt.settings.outbox.resend_after_s:
            logger.info("no ack for seqs %d..%d: sending them again", self.acked + 1, self.sent)
            self._silent_upto = max(self._silent_upto, self.sent)
            self.sent, self._progress_at = self.acked, now

    async def _idle(self) -> None:
        """Nothing to send (or no room): wait for a new event or an ack, at most until a
        resend is due."""
        self.rt.wake.clear()
        loop = asyncio.get_running_loop()
        due = self._progress_at + self.rt.settings.outbox.resend_after_s - loop.time()
        try:
            async with asyncio.timeout(max(0.05, due)):  # never swallows a cancellation
                await self.rt.wake.wait()
        except TimeoutError:
            return  # the next round resends if the server is still silent
