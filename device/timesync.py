"""The gate learns the time whenever it needs it (issue 15): from the OS, and from the server.

* The OS: every ``OS_CHECK_S`` the ``SystemSync`` port says whether the system clock is
  synchronised (NTP) with an error within ``max_server_skew_s``; while it is, it vouches.
* The server: the gate publishes a ``TimeRequest`` with a fresh nonce on its
  ``time-requests`` topic and notes the monotonic time; the server answers on the gate's
  ``time`` topic, signed with a control key, with the nonce and its clock in milliseconds.
  An answer is taken only if it verifies, carries a nonce asked for within ``max_rtt_s``, and
  the round trip was at most ``max_rtt_s``; the true time is then known within half the round
  trip, and it anchors the wall clock (device.core.clock). An answer slower than the anchor
  it would replace, and too rough to vouch by itself, leaves that anchor in place (a slow
  round trip during a reconnect must not take away what a quick one proved). The gate asks at
  every connect, when the server says it is online, every ``RETRY_S`` while the clock is
  untrusted and the link up, and every ``resync_s`` otherwise.

The server's retained status takes no part: it may be minutes old and is not signed.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

from device.core.clock import anchored, sample
from device.link.mqtt import MqttClient
from device.ports import SystemSync
from device.runtime import Runtime
from protocol import messages, topics
from protocol.errors import MessageError
from protocol.manifest import KeyUse
from protocol.messages import TimeRequest
from protocol.topics import TopicKind

logger = logging.getLogger(__name__)

RETRY_S = 2.0  # while untrusted and connected
OS_CHECK_S = 30.0
MAX_PENDING = 8  # nonces awaiting an answer (older ones are forgotten)


class TimeSync:
    """Asks the server for the time, takes its signed answers, and watches the OS's sync."""

    def __init__(self, rt: Runtime, link: MqttClient, os_sync: SystemSync) -> None:
        self.rt, self.link, self.os_sync = rt, link, os_sync
        self._pending: dict[str, float] = {}  # nonce -> monotonic time asked
        self._due = asyncio.Event()
        self._asked_at = -1e18
        self._os_at = -1e18
        self.taken = 0  # answers that anchored the clock
        self.refused = 0

    def poke(self) -> None:
        """Ask now (a connect, the server announcing itself, a new manifest)."""
        self._due.set()

    async def run(self) -> None:
        """Ask when due, look at the OS's sync now and then, forever."""
        while True:
            self.check_os()
            mono = self.rt.clock.monotonic()
            wait = self.rt.settings.clock.resync_s if self.rt.server_synced else RETRY_S
            if self.link.connected.is_set() and (
                self._due.is_set() or mono - self._asked_at >= wait
            ):
                self._due.clear()
                self.ask()
                mono = self._asked_at
            sleep = min(OS_CHECK_S, max(0.05, self._asked_at + wait - mono))
            try:
                async with asyncio.timeout(sleep):
                    await self._due.wait()
            except TimeoutError:
                pass

    def check_os(self) -> None:
        """Ask the OS whether its clock is synchronised (at most every ``OS_CHECK_S``)."""
        mono = self.rt.clock.monotonic()
        if mono - self._os_at < OS_CHECK_S:
            return
        self._os_at = mono
        synced = self.os_sync.synchronised(self.rt.settings.clock.max_server_skew_s)
        if synced != self.rt.os_synced:
            logger.info("the OS says its clock is %ssynchronised", "" if synced else "not ")
            self.rt.os_synced = synced
            self.rt.status_changed.set()

    def ask(self) -> None:
        """Publish one time request with a fresh nonce."""
        s = self.rt.settings.gate
        nonce = uuid.uuid4().hex
        request = TimeRequest(
            site=s.site, gate=s.id, nonce=nonce, at=max(0, int(self.rt.clock.wall() * 1000))
        )
        topic = str(topics.gate_topic(s.site, s.id, TopicKind.TIME_REQUESTS))
        self._asked_at = self.rt.clock.monotonic()
        if self.link.publish(topic, messages.encode(request)):
            self._pending[nonce] = self._asked_at
            while len(self._pending) > MAX_PENDING:
                self._pending.pop(next(iter(self._pending)))

    async def on_answer(self, payload: bytes) -> bool:
        """A signed answer: anchor the clock if it is ours, fresh and fast enough. Raises
        MessageError (logged by the router) for one that does not verify or is not ours."""
        received = self.rt.clock.monotonic()
        s, c = self.rt.settings.gate, self.rt.settings.clock
        keys = self.rt.trust.applied.keys_for(KeyUse.CONTROL)
        answer = messages.open_time(payload, keys, site=s.site, gate=s.id)
        asked = self._pending.pop(answer.nonce, None)
        if asked is None:
            self.refused += 1
            raise MessageError("time answer for a nonce not asked for (or answered already)")
        anchor = sample(answer.at_ms, received - asked, received, c.max_rtt_s)
        if anchor is None:
            self.refused += 1
            rtt = received - asked
            logger.warning("time answer after %.2f s: too slow to set the clock by", rtt)
            return False
        was = self.rt.server_synced
        wall = self.rt.clock.wall()
        agrees = anchored(anchor, wall, received, c.max_server_skew_s)
        current = self.rt.anchor
        if current is None or agrees or anchor.error <= current.error:
            self.rt.anchor = anchor  # a rougher answer never replaces a finer one it can't prove
            self.taken += 1
        agrees = self.rt.server_synced
        if agrees != was:
            offset = wall - (received + anchor.offset)
            logger.info(
                "server time: our clock is %+.3f s off (±%.3f s): %s",
                offset,
                anchor.error,
                "trusted" if agrees else "NOT trusted",
            )
        known = int(received + anchor.offset - anchor.error)  # signed: the time is at least this
        if known > self.rt.floor:
            self.rt.floor = known
            await self.rt.store.raise_time_floor(known)
        self.rt.status_changed.set()
        return agrees
