"""gpiozero adapters for the inputs: override button, door contact, lockdown key switch.

gpiozero calls ``when_*`` callbacks on its own threads; each adapter's callbacks do nothing but
hand a value to the loop through its ``EventBridge`` (the one crossing). Construct adapters
while the event loop runs (or pass ``loop``). All inputs use the internal pull-up and switch
to ground.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from gpiozero import Button

from device.hardware.bridge import EventBridge
from device.ports import ButtonPress


class GpiozeroButton:
    """Staff override button; satisfies ``device.ports.Button``."""

    def __init__(
        self,
        pin: int,
        *,
        hold_time: float = 2.0,
        bounce_time: float | None = 0.05,
        pin_factory: Any = None,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self._bridge: EventBridge[ButtonPress] = EventBridge(maxsize=16)
        self._bridge.bind(loop)
        self._held = threading.Event()
        self._device = Button(
            pin, pull_up=True, hold_time=hold_time, bounce_time=bounce_time, pin_factory=pin_factory
        )
        self._device.when_pressed = self._pressed_from_thread
        self._device.when_held = self._held_from_thread
        self._device.when_released = self._released_from_thread

    def _pressed_from_thread(self) -> None:
        self._held.clear()

    def _held_from_thread(self) -> None:
        self._held.set()
        self._bridge.put_threadsafe(ButtonPress.HOLD)

    def _released_from_thread(self) -> None:
        if not self._held.is_set():
            self._bridge.put_threadsafe(ButtonPress.PRESS)

    async def next_press(self, within: float | None = None) -> ButtonPress | None:
        """The next press or hold, or None after ``within`` seconds."""
        return await self._bridge.get_within(within)

    def close(self) -> None:
        """Release the pin."""
        self._device.close()


class _Contact:
    """A switch to ground; ``value`` is True while it is closed (or open, if inverted)."""

    def __init__(
        self,
        pin: int,
        *,
        true_when_closed: bool,
        bounce_time: float | None,
        pin_factory: Any,
        loop: asyncio.AbstractEventLoop | None,
    ) -> None:
        self._bridge: EventBridge[bool] = EventBridge(maxsize=16)
        self._bridge.bind(loop)
        self._true_when_closed = true_when_closed
        self._device = Button(pin, pull_up=True, bounce_time=bounce_time, pin_factory=pin_factory)
        self._device.when_pressed = self._changed_from_thread
        self._device.when_released = self._changed_from_thread

    def _value(self) -> bool:
        return bool(self._device.is_pressed) == self._true_when_closed

    def _changed_from_thread(self) -> None:
        self._bridge.put_threadsafe(self._value())

    async def next_change(self, within: float | None = None) -> bool | None:
        """The new value after the next change, or None after ``within`` seconds."""
        return await self._bridge.get_within(within)

    def close(self) -> None:
        """Release the pin."""
        self._device.close()


class GpiozeroDoorContact(_Contact):
    """Door reed contact, closed while the door is shut; satisfies ``ports.DoorContact``."""

    def __init__(
        self,
        pin: int,
        *,
        bounce_time: float | None = 0.05,
        pin_factory: Any = None,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(
            pin, true_when_closed=False, bounce_time=bounce_time, pin_factory=pin_factory, loop=loop
        )

    @property
    def is_open(self) -> bool:
        """True while the door is open (contact open)."""
        return self._value()


class GpiozeroModeSwitch(_Contact):
    """Lockdown key switch, closed in the lockdown position; satisfies ``ports.ModeSwitch``."""

    def __init__(
        self,
        pin: int,
        *,
        bounce_time: float | None = 0.05,
        pin_factory: Any = None,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(
            pin, true_when_closed=True, bounce_time=bounce_time, pin_factory=pin_factory, loop=loop
        )

    @property
    def lockdown(self) -> bool:
        """True while the key is in the lockdown position."""
        return self._value()
