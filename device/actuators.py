"""The lane's outputs: one task owns the relay; signals become LED and buzzer patterns.

Nothing else moves the relay: the lane, the override button and remote commands put requests
on the owner's queue *after* the decision is committed to the outbox. The owner also holds the
relay open in free-passage mode and forces it off when it stops, however it stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from device.core.model import Signal
from device.ports import Buzzer, Indicator, LedPattern, Relay

logger = logging.getLogger(__name__)

BLINK_FAST = (0.15, 0.15)
BLINK_SLOW = (0.5, 0.5)
RESULT_S = 2.0

# What the person sees and hears for each signal (docs/gate.md, "Lights and sounds").
PATTERNS: dict[Signal, tuple[LedPattern, tuple[tuple[float, float], ...]]] = {
    Signal.GRANTED: (LedPattern(green=True), ((0.15, 0.0),)),
    Signal.DENIED: (LedPattern(red=True), ((0.12, 0.08),) * 3),
    Signal.FEVER: (LedPattern(red=BLINK_FAST), ((1.2, 0.0),)),
    Signal.ENTER_DIGITS: (LedPattern(green=BLINK_SLOW), ((0.08, 0.08),) * 2),
    Signal.WRONG_DIGITS: (LedPattern(red=BLINK_SLOW), ((0.3, 0.1),) * 2),
    Signal.MEASURE: (LedPattern(green=BLINK_FAST), ((0.05, 0.0),)),
    Signal.MEASURE_AGAIN: (LedPattern(green=BLINK_FAST, red=BLINK_FAST), ((0.08, 0.08),) * 2),
    Signal.FAULT: (LedPattern(red=BLINK_SLOW), ((0.6, 0.2),) * 2),
}
STEADY_IDLE = LedPattern()
STEADY_LOCKDOWN = LedPattern(red=True)
STEADY_FREE = LedPattern(green=True)
STEADY_MAINTENANCE = LedPattern(red=BLINK_SLOW)


@dataclass(frozen=True, slots=True)
class Open:
    """Open the lane for ``ms`` milliseconds (one person), for the committed event ``event_id``."""

    ms: int
    event_id: str = ""


@dataclass(frozen=True, slots=True)
class Hold:
    """Hold the lane open (True: free passage) or release it (False)."""

    on: bool


class RelayOwner:
    """The only writer of the relay; requests arrive on a queue."""

    def __init__(self, relay: Relay) -> None:
        self.relay = relay
        self.requests: asyncio.Queue[Open | Hold] = asyncio.Queue()
        self.opened = 0  # count of pulses, for status and tests
        self._holding = False

    def open(self, ms: int, event_id: str = "") -> None:
        """Ask for one opening (only after its event is committed)."""
        self.requests.put_nowait(Open(ms, event_id))

    def hold(self, on: bool) -> None:
        """Ask to hold the lane open (free passage) or to release it."""
        self.requests.put_nowait(Hold(on))

    async def run(self) -> None:
        """Serve requests until cancelled; the relay is off on every way out."""
        self.relay.off()
        try:
            while True:
                request = await self.requests.get()
                if isinstance(request, Hold):
                    self._holding = request.on
                    self.relay.hold() if request.on else self.relay.off()
                elif not self._holding:
                    self.opened += 1
                    logger.info("relay open %d ms for event %s", request.ms, request.event_id)
                    await self.relay.pulse(request.ms / 1000)
        finally:
            self.relay.off()


class Signals:
    """Shows a signal on the LEDs and buzzer without blocking the lane."""

    def __init__(self, indicator: Indicator, buzzer: Buzzer) -> None:
        self.indicator, self.buzzer = indicator, buzzer
        self._sound: asyncio.Task[None] | None = None

    def show(self, signal: Signal) -> None:
        """Start the signal's result pattern; a new sound cuts the previous one short."""
        leds, sound = PATTERNS[signal]
        self.indicator.show(leds, RESULT_S)
        if self._sound is not None and not self._sound.done():
            self._sound.cancel()
        self._sound = asyncio.create_task(self.buzzer.play(sound), name=f"buzzer-{signal.value}")

    async def close(self) -> None:
        """Stop a sound still playing (before the GPIO pins are released)."""
        if self._sound is not None and not self._sound.done():
            self._sound.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sound

    def steady(self, pattern: LedPattern) -> None:
        """The resting pattern for the current mode."""
        self.indicator.set_steady(pattern)
