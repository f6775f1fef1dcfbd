"""Outbox → broker, oldest first; a row leaves the outbox only when the server acks its seq.

The broker's PUBACK proves nothing about the server's database, so the drainer does not wait
for it: it keeps up to ``MAX_UNACKED`` events in flight and moves on as the server's
application-level acks arrive (``acks`` topic: highest contiguous seq committed). Anything not
acked within ``resend_after_s`` (or after a reconnect) is sent again; the server stores each
event once. A backlog drains in batches that yield to the event loop every millisecond and
hold back while a person's scan is verified and committed (``Runtime.calm``), so a live scan
is never stuck behind them.
"""

from __future__ import annotations

import asyncio
import logging

from device.link.mqtt import MqttLink
from device.runtime import Runtime
from device.store.outbox import Pending
from protocol import topics
from protocol.topics import TopicKind

logger = logging.getLogger(__name__)

MAX_UNACKED = 600  # events sent but not yet acked; paho's queue (1000) keeps room for status
PRUNE_EVERY_S = 0.2
RETRY_S = 0.5
SLICE_S = 0.001  # longest stretch of publishing before a live scan gets the loop back


class Drainer:
    """Publishes the outbox and applies the server's acks."""

    def __init__(self, rt: Runtime, link: MqttLink) -> None:
        self.rt, self.link = rt, link
        self.topic = str(
            topics.gate_topic(rt.settings.gate.site, rt.settings.gate.id, TopicKind.EVENTS)
        )
        self.acked = 0
        self.sent = 0
        self._acked = asyncio.Event()
        self._progress_at = 0.0  # loop time of the last ack (or of catching up)

    async def start(self) -> None:
        """Everything below the store's floor is already acked."""
        self.acked = self.sent = await self.rt.store.floor_seq() - 1

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
        """Delete acked rows in one statement per round: a backlog's acks arrive one per event,
        and a delete (and its fsync) per ack would slow the drain and every live commit."""
        while True:
            await self._acked.wait()
            await asyncio.sleep(PRUNE_EVERY_S)
            self._acked.clear()
            await self.rt.calm.wait()  # the delete's fsync never sits before a person's commit
            await self.rt.store.ack(self.acked)
            self.rt.status_changed.set()

    def on_reconnect(self) -> None:
        """After a reconnect, everything unacked is sent again."""
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
            if not self.link.send(self.topic, item.payload):
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
