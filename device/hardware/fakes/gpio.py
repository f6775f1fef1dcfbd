"""In-memory fakes of the GPIO ports: relay, indicator, buzzer, button, keypad, door, key switch.

Each fake records what was done to it (``history``) and has a method to stimulate it the way
a person would (``press``, ``type_keys``, ``set``). Fakes live on the event loop: no threads,
so no bridge is needed. They follow the same contract as the gpiozero adapters
(tests/device/test_contract.py runs both).
"""

from __future__ import annotations

import asyncio

from device.ports import ButtonPress, LedPattern

__all__ = [
    "FakeButton",
    "FakeBuzzer",
    "FakeDoorContact",
    "FakeIndicator",
    "FakeKeypad",
    "FakeModeSwitch",
    "FakeRelay",
]


async def _get_within(queue: asyncio.Queue[object], within: float | None) -> object | None:
    try:
        return await asyncio.wait_for(queue.get(), within)
    except TimeoutError:
        return None


class FakeRelay:
    """Records every level it was driven to; starts off."""

    def __init__(self) -> None:
        self.history: list[bool] = [False]

    @property
    def is_on(self) -> bool:
        """True while energised."""
        return self.history[-1]

    def _set(self, value: bool) -> None:
        if value != self.history[-1]:
            self.history.append(value)

    async def pulse(self, seconds: float) -> None:
        """On for ``seconds``, off on every exit path."""
        self._set(True)
        try:
            await asyncio.sleep(seconds)
        finally:
            self._set(False)

    def hold(self) -> None:
        """On until ``off()``."""
        self._set(True)

    def off(self) -> None:
        """Off now."""
        self._set(False)

    def close(self) -> None:
        """Off."""
        self._set(False)


class FakeIndicator:
    """Keeps the steady pattern and the timed one, like the gpiozero adapter."""

    def __init__(self) -> None:
        self.steady = LedPattern()
        self.current = LedPattern()
        self.history: list[LedPattern] = []
        self._timer: asyncio.TimerHandle | None = None

    def set_steady(self, pattern: LedPattern) -> None:
        """Background pattern."""
        self.steady = pattern
        if self._timer is None:
            self._show(pattern)

    def show(self, pattern: LedPattern, seconds: float) -> None:
        """Timed pattern, then back to steady."""
        if self._timer is not None:
            self._timer.cancel()
        self._show(pattern)
        self._timer = asyncio.get_running_loop().call_later(seconds, self._expire)

    def _expire(self) -> None:
        self._timer = None
        self._show(self.steady)

    def _show(self, pattern: LedPattern) -> None:
        self.current = pattern
        self.history.append(pattern)

    def close(self) -> None:
        """All off."""
        if self._timer is not None:
            self._timer.cancel()
        self._show(LedPattern())


class FakeBuzzer:
    """Records the patterns played."""

    def __init__(self) -> None:
        self.played: list[tuple[tuple[float, float], ...]] = []
        self.sounding = False

    async def play(self, pattern: tuple[tuple[float, float], ...]) -> None:
        """Sound the pattern (in loop time)."""
        self.played.append(pattern)
        try:
            for on_s, off_s in pattern:
                self.sounding = True
                await asyncio.sleep(on_s)
                self.sounding = False
                await asyncio.sleep(off_s)
        finally:
            self.sounding = False

    def close(self) -> None:
        """Silence."""
        self.sounding = False


class FakeButton:
    """``press()`` and ``hold()`` stand for a person at the button."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[object] = asyncio.Queue()

    def press(self) -> None:
        """A short press."""
        self._queue.put_nowait(ButtonPress.PRESS)

    def hold(self) -> None:
        """A press held past the hold time."""
        self._queue.put_nowait(ButtonPress.HOLD)

    async def next_press(self, within: float | None = None) -> ButtonPress | None:
        """The next press or hold, or None."""
        return await _get_within(self._queue, within)  # type: ignore[return-value]

    def close(self) -> None:
        """Nothing to release."""


class FakeKeypad:
    """``type_keys("1234#")`` stands for a person typing."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[object] = asyncio.Queue()

    def type_keys(self, keys: str) -> None:
        """Queue each character as a key press."""
        for key in keys:
            if key not in "0123456789*#":
                raise ValueError(f"no key {key!r} on a 3x4 keypad")
            self._queue.put_nowait(key)

    async def next_key(self, within: float) -> str | None:
        """The next key, or None."""
        return await _get_within(self._queue, within)  # type: ignore[return-value]

    def clear(self) -> None:
        """Forget queued keys."""
        while not self._queue.empty():
            self._queue.get_nowait()

    def close(self) -> None:
        """Nothing to release."""


class _FakeBinary:
    def __init__(self, value: bool) -> None:
        self.value = value
        self._queue: asyncio.Queue[object] = asyncio.Queue()

    def set(self, value: bool) -> None:
        """Change the input (queued only when it really changes)."""
        if value != self.value:
            self.value = value
            self._queue.put_nowait(value)

    async def next_change(self, within: float | None = None) -> bool | None:
        """The new value after the next change, or None."""
        return await _get_within(self._queue, within)  # type: ignore[return-value]

    def close(self) -> None:
        """Nothing to release."""


class FakeDoorContact(_FakeBinary):
    """``set(True)`` opens the door."""

    def __init__(self, is_open: bool = False) -> None:
        super().__init__(is_open)

    @property
    def is_open(self) -> bool:
        """True while open."""
        return self.value


class FakeModeSwitch(_FakeBinary):
    """``set(True)`` turns the key to lockdown."""

    def __init__(self, lockdown: bool = False) -> None:
        super().__init__(lockdown)

    @property
    def lockdown(self) -> bool:
        """True in the lockdown position."""
        return self.value
