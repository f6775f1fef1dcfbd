"""The lane flow: scan → verify → phone digits → temperature → grant, one person at a time.

Each input goes to the pure ``decide``; its answer says what to collect next (digits on the
keypad, a temperature reading) or ends with GRANT or DENY. A final decision is committed to
the outbox *before* the relay is asked to open. Every step has a timeout.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from dataclasses import replace

from device.core import cues
from device.core.decision import decide
from device.core.model import Decision, Outcome, Prompt, ScanAttempt, Signal, Step, Temperature
from device.core.state import GateState
from device.ports import Keypad, QrScanner, Reading, ReadingError, ReadingFault, Scan, Thermometer
from device.presence import PresenceSender
from device.runtime import Runtime
from device.store.db import StoreError
from device.store.outbox import OutboxFull
from device.wording import prompt_text
from protocol.claims import PassClaims
from protocol.errors import PassError
from protocol.messages import AlarmKind
from protocol.passes import verify
from protocol.reasons import ReasonCode

logger = logging.getLogger(__name__)

DIGITS = 4
PRESENCE_SETTLE_S = 0.6  # keep reading this long after skin is seen and take the peak
RETEST_PAUSE_S = 1.0  # the person steps back and presents again
_POLL_S = 0.1
# Every "no valid reading" but an empty wait is the thermometer's fault: offline, the module's
# own error, the int16 limit or any value outside the sensor's range, NaN, a stuck value. None
# of them ever becomes a number (issue 14: a NaN reading became a null the server refused).
_FAULTS = frozenset(ReadingFault) - {ReadingFault.NO_READING}


class LaneFlow:
    """Runs the flow for each scan the scanner reports."""

    def __init__(
        self,
        rt: Runtime,
        scanner: QrScanner,
        thermometer: Thermometer,
        keypad: Keypad | None,
        *,
        presence: PresenceSender | None = None,
    ) -> None:
        self.rt, self.scanner, self.thermometer, self.keypad = rt, scanner, thermometer, keypad
        self.presence = presence  # tells the peer lanes of each grant (anti-passback)
        self.decisions = 0
        self.prompt: Prompt | None = None  # the digits the lane is asking for now, if any

    async def run(self) -> None:
        """Take scans one at a time (a scan arriving mid-flow waits for the next person)."""
        async for item in self.scanner.events():
            if isinstance(item, Scan):
                await self.handle(item.payload)

    async def handle(self, text: str) -> Decision:
        """One person: verify the pass, then ask ``decide`` until it is final."""
        clock = self.rt.clock_view()
        result: PassClaims | PassError
        with self.rt.urgent():
            try:
                result = verify(text, self.rt.trust.for_passes(), clock.now)
            except PassError as exc:
                result = exc
        attempt = ScanAttempt(result=result, sample=random.random())  # noqa: S311 - a sampling draw
        while True:
            clock = self.rt.clock_view()
            with self.rt.urgent():  # the drain waits while this person's commit is made
                decision, state = decide(attempt, self.rt.state, self.rt.lane(clock), clock.now)
                if decision.final:
                    return await self._finish(decision, state, attempt)
            self.rt.signals.show(decision.signal)
            self.rt.announcer.tell(cues.for_decision(decision, attempt, self.rt.policy))
            self._ask(decision.prompt)
            self.rt.state = state
            attempt = await self._collect(decision, attempt)

    def _ask(self, prompt: Prompt | None) -> None:
        """Name the digits asked for (the phone's last four or the card PIN) on the display and
        in the log, in the catalogs' words."""
        self.prompt = prompt
        if prompt is not None:
            logger.info("lane asks: %s (%s)", prompt_text(prompt), prompt_text(prompt, "en"))

    def prompt_text(self, language: str = "zh-CN") -> str | None:
        """What the lane's display says now about the digits it asks for, if it asks."""
        return None if self.prompt is None else prompt_text(self.prompt, language)

    async def _collect(self, decision: Decision, attempt: ScanAttempt) -> ScanAttempt:
        """Gather the input the decision asked for (or note that its step timed out)."""
        attempt = replace(attempt, timed_out=None)  # a timeout belongs to the step it happened in
        if decision.signal == Signal.WRONG_DIGITS:
            await self._save_wrong_digits(attempt)
        if decision.outcome == Outcome.NEED_DIGITS:
            typed = await self._digits()
            if typed is None:
                return replace(attempt, timed_out=Step.DIGITS)
            return replace(attempt, digits=(*attempt.digits, typed))
        if attempt.temperatures:
            await asyncio.sleep(RETEST_PAUSE_S)
        measured = await self._measure()
        if measured is None:
            return replace(attempt, timed_out=Step.TEMPERATURE)
        if isinstance(measured, ReadingError):
            logger.warning("no valid reading: %s (%s)", measured.fault.value, measured.detail)
            return replace(attempt, thermometer_ok=False)
        return replace(attempt, temperatures=(*attempt.temperatures, measured))

    async def _save_wrong_digits(self, attempt: ScanAttempt) -> None:
        """A wrong try counts even if the person walks away: persist the counter now."""
        if not isinstance(attempt.result, PassError):
            try:
                await self.rt.store.save_state(self.rt.state, [attempt.result.ref])
            except StoreError as exc:  # kept in memory; the decision's commit retries it
                logger.warning("wrong-digit count not stored: %s", exc)

    async def _digits(self) -> str | None:
        """Four digits typed within the step timeout ('*' clears), or None."""
        if self.keypad is None:
            return None
        self.keypad.clear()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.rt.policy.step_timeout_s
        typed = ""
        while len(typed) < DIGITS:
            key = await self.keypad.next_key(within=max(0.0, deadline - loop.time()))
            if key is None:
                return None
            typed = "" if key == "*" else typed + key if key.isdigit() else typed
            self.rt.announcer.typed(len(typed))
        return typed

    async def _measure(self) -> Temperature | ReadingError | None:
        """Wait for skin in front of the sensor, then take the peak.

        None if the step timed out with nothing to show; the device's fault if it stayed
        faulty until then (a sensor that drops out, or sends values out of range, and comes
        back within the step is waited for, since the driver reopens it by itself).
        """
        loop = asyncio.get_running_loop()
        policy = self.rt.policy
        deadline = loop.time() + policy.step_timeout_s
        peak: Temperature | None = None
        fault: ReadingError | None = None
        settle_until = math.inf
        while loop.time() < min(deadline, settle_until):
            got = await self.thermometer.read(within=_POLL_S * 5, max_age=0.5)
            if isinstance(got, ReadingError):
                fault = got if got.fault in _FAULTS else None
                await asyncio.sleep(_POLL_S)
                continue
            fault, temperature = None, _temperature(got)
            if temperature.body_c >= policy.plausible_min_c:
                settle_until = min(settle_until, loop.time() + PRESENCE_SETTLE_S)
                peak = temperature if peak is None or temperature.body_c > peak.body_c else peak
            await asyncio.sleep(_POLL_S)
        return peak if peak is not None else fault

    async def _finish(self, decision: Decision, state: GateState, attempt: ScanAttempt) -> Decision:
        """Commit, then act: the relay moves only after the commit returned, or, when the store
        cannot write (a full SD card), once the decision is held in memory to commit later: the
        lane keeps deciding and shows the store's fault in its status (Runtime.record_or_hold)."""
        self.prompt = None
        touched = [] if isinstance(attempt.result, PassError) else [attempt.result.ref]
        try:
            ids = await self.rt.record_or_hold(decision.events, state, touched)
        except OutboxFull:
            await self.rt.alarm(AlarmKind.OUTBOX_FULL, once=True)
            self.rt.signals.show(Signal.FAULT)
            refused = replace(decision, outcome=Outcome.DENY, reason=ReasonCode.DEVICE_FAULT)
            self.rt.announcer.tell(cues.for_decision(refused, attempt, self.rt.policy))
            return refused
        self.decisions += 1
        if decision.outcome == Outcome.GRANT and decision.open_ms:
            self.rt.relay.open(decision.open_ms, ids[0])
        self.rt.signals.show(decision.signal)  # after the relay request: lights never hold it up
        self.rt.announcer.tell(cues.for_decision(decision, attempt, self.rt.policy))
        if decision.outcome == Outcome.GRANT and touched and self.presence is not None:
            self.presence.share(touched[0])
        return decision


def _temperature(reading: Reading) -> Temperature:
    """The driver's reading as the core's temperature (monotonic time and raw bytes stay behind)."""
    return Temperature(reading.object_c, reading.ambient_c, reading.offset_c, reading.body_c)
