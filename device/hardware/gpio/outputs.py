"""gpiozero adapters for the outputs: relay, two LEDs (indicator) and buzzer.

The relay is built with ``initial_value=False`` (never ``None``: gpiozero warns that can be
"on"), driven off again right after construction, after every pulse (``finally``, so also on
cancellation) and on close. The active level is configurable for active-low relay boards.
Every adapter takes ``pin_factory`` so tests pass gpiozero's ``MockFactory``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from gpiozero import LED, Buzzer, OutputDevice

from device.ports import LedPattern

logger = logging.getLogger(__name__)


class GpiozeroRelay:
    """The lane relay; satisfies ``device.ports.Relay``. One task should own it."""

    def __init__(self, pin: int, *, active_high: bool = True, pin_factory: Any = None) -> None:
        self._device = OutputDevice(
            pin, active_high=active_high, initial_value=False, pin_factory=pin_factory
        )
        self._device.off()  # [1] safe state at start, whatever the constructor did

    @property
    def is_on(self) -> bool:
        """True while energised."""
        return bool(self._device.is_active)

    async def pulse(self, seconds: float) -> None:
        """Energise for ``seconds``; off again on return, error or cancellation."""
        self._device.on()
        try:
            await asyncio.sleep(seconds)
        finally:
            self._device.off()

    def hold(self) -> None:
        """Energise until ``off()``."""
        self._device.on()

    def off(self) -> None:
        """De-energise now."""
        self._device.off()

    def close(self) -> None:
        """De-energise, then release the pin (it floats: see docs/wiring.md)."""
        try:
            self._device.off()
        finally:
            self._device.close()


def _apply(led: LED, mode: tuple[float, float] | bool) -> None:
    if mode is True:
        led.on()
    elif mode is False:
        led.off()
    else:
        led.blink(on_time=mode[0], off_time=mode[1], background=True)


class GpiozeroIndicator:
    """Green and red LEDs; satisfies ``device.ports.Indicator``. Use from the event loop."""

    def __init__(self, green: int, red: int, *, pin_factory: Any = None) -> None:
        self._green = LED(green, initial_value=False, pin_factory=pin_factory)
        self._red = LED(red, initial_value=False, pin_factory=pin_factory)
        self._steady = LedPattern()
        self._current = LedPattern()
        self._timer: asyncio.TimerHandle | None = None

    @property
    def current(self) -> LedPattern:
        """What the LEDs show now."""
        return self._current

    def set_steady(self, pattern: LedPattern) -> None:
        """The background pattern; shown now unless a timed pattern is running."""
        self._steady = pattern
        if self._timer is None:
            self._show_now(pattern)

    def show(self, pattern: LedPattern, seconds: float) -> None:
        """A result pattern for ``seconds``; a newer one replaces it."""
        if self._timer is not None:
            self._timer.cancel()
        self._show_now(pattern)
        self._timer = asyncio.get_running_loop().call_later(seconds, self._expire)

    def _expire(self) -> None:
        self._timer = None
        self._show_now(self._steady)

    def _show_now(self, pattern: LedPattern) -> None:
        self._current = pattern
        _apply(self._green, pattern.green)
        _apply(self._red, pattern.red)

    def close(self) -> None:
        """Both LEDs off, pins released."""
        if self._timer is not None:
            self._timer.cancel()
        for led in (self._green, self._red):
            led.off()
            led.close()


class GpiozeroBuzzer:
    """An active buzzer; satisfies ``device.ports.Buzzer``."""

    def __init__(self, pin: int, *, active_high: bool = True, pin_factory: Any = None) -> None:
        self._device = Buzzer(
            pin, active_high=active_high, initial_value=False, pin_factory=pin_factory
        )

    async def play(self, pattern: tuple[tuple[float, float], ...]) -> None:
        """Each (on_s, off_s) in turn; silent on return or cancellation."""
        try:
            for on_s, off_s in pattern:
                self._device.on()
                await asyncio.sleep(on_s)
                self._device.off()
                await asyncio.sleep(off_s)
        finally:
            self._device.off()

    def close(self) -> None:
        """Silence and release the pin."""
        self._device.off()
        self._device.close()
