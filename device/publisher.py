"""Outbox → broker, oldest first; a row leaves the outbox only when the server acks its seq.

The drainer publishes a window of events and waits for their PUBACKs, then the next window.
The server's application-level ack (``acks`` topic: highest contiguous seq committed) deletes
rows. Anything not acked within ``resend_after_s`` (or after a reconnect) is sent again; the
server stores each event once. A large backlog is drained in small batches that yield to the
event loop, so a live scan's commit is never stuck behind it.
"""

from __future__ import annotations

import asyncio
import logging

from device.link.mqtt import MqttLink
from device.runtime import Runtime
from protocol import topics
from protocol.topics import TopicKind

logger = logging.getLogger(__name__)

WINDOW = 100  # publishes awaiting their PUBACK at once
PRUNE_EVERY_S = 0.2


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

    async def start(self) -> None:
        """Everything below the store's floor is already acked."""
        self.acked = self.sent = await self.rt.store.floor_seq() - 1

    async def on_ack(self, seq: int) -> None:
        """The server committed every seq up to ``seq``; the rows go in the next prune."""
        if seq <= self.acked:
            return
        self.acked = seq
        self.sent = max(self.sent, seq)
        self._acked.set()

    async def prune(self) -> None:
        """Delete acked rows in one statement per round: a backlog's acks arrive one per event,
        and a delete (and its fsync) per ack would slow the drain and every live commit."""
        while True:
            await self._acked.wait()
            await asyncio.sleep(PRUNE_EVERY_S)
            self._acked.clear()
            await self.rt.store.ack(self.acked)
            self.rt.status_changed.set()

    def on_reconnect(self) -> None:
        """After a reconnect, everything unacked is sent again."""
        self.sent = self.acked
        self.rt.wake.set()

    async def run(self) -> None:
        """Drain forever: wait for the link and for work, publish windows, resend on silence."""
        batch = self.rt.settings.outbox.drain_batch
        while True:
            await self.link.connected.wait()
            pending = await self.rt.store.pending(self.sent, batch)
            if not pending:
                await self._idle()
                continue
            for start in range(0, len(pending), WINDOW):
                window = pending[start : start + WINDOW]
                results = await asyncio.gather(
                    *(self.link.publish(self.topic, p.payload) for p in window)
                )
                done = next((i for i, ok in enumerate(results) if not ok), len(results))
                if done:
                    self.sent = window[done - 1].seq
                if done < len(results):
                    break  # link trouble: retry from the first failure once reconnected
                await asyncio.sleep(0)  # let a live scan commit between windows

    async def _idle(self) -> None:
        """Nothing new to send: wait for a new event, or resend what the server never acked."""
        self.rt.wake.clear()
        waiter = asyncio.create_task(self.rt.wake.wait(), name="drain-wake")
        try:
            await asyncio.wait_for(asyncio.shield(waiter), self.rt.settings.outbox.resend_after_s)
        except TimeoutError:
            if self.sent > self.acked:
                logger.info("no ack for seqs %d..%d: sending them again", self.acked + 1, self.sent)
                self.sent = self.acked
        finally:
            waiter.cancel()
