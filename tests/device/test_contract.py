"""One contract, two implementations: gpiozero adapters on MockFactory and the in-memory fakes.

Each harness builds the device and knows how a person stimulates it (drive a pin, or call the
fake's method); the tests are written once against the port.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from gpiozero.pins.mock import MockConnectedPin, MockFactory

from device.hardware.fakes.gpio import (
    FakeButton,
    FakeDoorContact,
    FakeIndicator,
    FakeKeypad,
    FakeModeSwitch,
    FakeRelay,
)
from device.hardware.gpio.inputs import GpiozeroButton, GpiozeroDoorContact, GpiozeroModeSwitch
from device.hardware.gpio.keymatrix import KEYMAP_3X4
from device.hardware.gpio.keypad import GpiozeroKeypad
from device.hardware.gpio.outputs import GpiozeroIndicator, GpiozeroRelay
from device.hardware.gpio.pins import PinMap
from device.ports import ButtonPress, LedPattern
from tests.device.conftest import run

KINDS = ["gpiozero", "fake"]
PINS = PinMap()


class Harness:
    """Builds one implementation and stimulates it the way a person would."""

    def __init__(self, kind: str, factory: MockFactory) -> None:
        self.kind = kind
        self.factory = factory

    # relay -----------------------------------------------------------------------------
    def relay(self) -> tuple[Any, Callable[[], bool]]:
        if self.kind == "fake":
            r = FakeRelay()
            return r, lambda: r.is_on
        device = GpiozeroRelay(PINS.relay, pin_factory=self.factory)
        pin = self.factory.pin(PINS.relay)
        return device, lambda: bool(pin.state)

    # button ----------------------------------------------------------------------------
    def button(self) -> Any:
        if self.kind == "fake":
            return FakeButton()
        return GpiozeroButton(
            PINS.button, hold_time=0.1, bounce_time=None, pin_factory=self.factory
        )

    async def press(self, button: Any) -> None:
        if self.kind == "fake":
            button.press()
            return
        pin = self.factory.pin(PINS.button)
        pin.drive_low()
        pin.drive_high()

    async def hold(self, button: Any) -> None:
        if self.kind == "fake":
            button.hold()
            return
        self.factory.pin(PINS.button).drive_low()  # held down: the hold thread fires

    async def release(self, button: Any) -> None:
        if self.kind == "gpiozero":
            self.factory.pin(PINS.button).drive_high()

    # contacts --------------------------------------------------------------------------
    def contact(self, which: str) -> Any:
        pin = PINS.door if which == "door" else PINS.lockdown_key
        assert pin is not None
        if self.kind == "fake":
            return FakeDoorContact(True) if which == "door" else FakeModeSwitch(False)
        cls = GpiozeroDoorContact if which == "door" else GpiozeroModeSwitch
        return cls(pin, bounce_time=None, pin_factory=self.factory)

    def set_contact(self, device: Any, which: str, closed: bool) -> None:
        """Close or open the switch (door shut = closed; lockdown = closed)."""
        if self.kind == "fake":
            device.set(not closed if which == "door" else closed)
            return
        pin = self.factory.pin(PINS.door if which == "door" else PINS.lockdown_key)
        pin.drive_low() if closed else pin.drive_high()

    # keypad ----------------------------------------------------------------------------
    def keypad(self) -> Any:
        if self.kind == "fake":
            return FakeKeypad()
        assert PINS.keypad_rows is not None
        assert PINS.keypad_cols is not None
        for row in PINS.keypad_rows:
            self.factory.pin(row, pin_class=MockConnectedPin)
        return GpiozeroKeypad(PINS.keypad_rows, PINS.keypad_cols, pin_factory=self.factory)

    async def type_key(self, keypad: Any, key: str) -> None:
        if self.kind == "fake":
            keypad.type_keys(key)
            return
        assert PINS.keypad_rows is not None
        assert PINS.keypad_cols is not None
        r, c = next((r, row.index(key)) for r, row in enumerate(KEYMAP_3X4) if key in row)
        row_pin = self.factory.pin(PINS.keypad_rows[r])
        col_pin = self.factory.pin(PINS.keypad_cols[c])
        row_pin.input_pin = col_pin  # the key closes row r to column c
        await asyncio.sleep(0.25)  # a finger holds the key (long enough for a loaded machine)
        row_pin.input_pin = None
        col_pin.drive_high()  # released: the pull-up wins
        await asyncio.sleep(0.1)

    # indicator -------------------------------------------------------------------------
    def indicator(self) -> Any:
        if self.kind == "fake":
            return FakeIndicator()
        return GpiozeroIndicator(PINS.led_green, PINS.led_red, pin_factory=self.factory)


@pytest.fixture(params=KINDS)
def harness(request: pytest.FixtureRequest, mock_factory: MockFactory) -> Harness:
    return Harness(request.param, mock_factory)


def test_relay_starts_off_pulses_and_ends_off(harness: Harness) -> None:
    relay, level = harness.relay()
    assert not level()
    assert not relay.is_on

    async def scenario() -> list[bool]:
        seen = []
        task = asyncio.create_task(relay.pulse(0.1))
        await asyncio.sleep(0.02)
        seen.append(level())
        await task
        seen.append(level())
        return seen

    assert run(scenario()) == [True, False]
    relay.close()
    assert not level()


def test_relay_off_when_its_pulse_is_cancelled(harness: Harness) -> None:
    relay, level = harness.relay()

    async def scenario() -> bool:
        task = asyncio.create_task(relay.pulse(10.0))
        await asyncio.sleep(0.02)
        on = level()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return on

    assert run(scenario()) is True
    assert not level()


def test_relay_hold_and_off(harness: Harness) -> None:
    relay, level = harness.relay()
    relay.hold()
    assert level()
    assert relay.is_on
    relay.off()
    assert not level()


def test_button_press_and_hold(harness: Harness) -> None:
    async def scenario() -> list[ButtonPress | None]:
        button = harness.button()  # inputs are built on the loop they report to
        await harness.press(button)
        first = await button.next_press(1.0)
        await harness.hold(button)
        second = await button.next_press(2.0)
        await harness.release(button)
        third = await button.next_press(0.2)  # releasing a hold is not also a press
        button.close()
        return [first, second, third]

    assert run(scenario()) == [ButtonPress.PRESS, ButtonPress.HOLD, None]


@pytest.mark.parametrize("which", ["door", "lockdown"])
def test_contacts_report_changes(harness: Harness, which: str) -> None:
    async def scenario() -> list[tuple[bool | None, bool]]:
        device = harness.contact(which)
        value = (lambda: device.is_open) if which == "door" else (lambda: device.lockdown)
        out = []
        for closed in (True, False):
            harness.set_contact(device, which, closed)
            out.append((await device.next_change(1.0), value()))
        device.close()
        return out

    result = run(scenario())
    if which == "door":
        assert result == [(False, False), (True, True)]
    else:
        assert result == [(True, True), (False, False)]


def test_keypad_digits_and_timeout(harness: Harness) -> None:
    async def scenario() -> tuple[list[str | None], str | None]:
        keypad = harness.keypad()
        try:
            got = []
            for key in "15590*#":
                await harness.type_key(keypad, key)
                got.append(await keypad.next_key(3.0))
            keypad.clear()
            return got, await keypad.next_key(0.05)
        finally:
            keypad.close()

    assert run(scenario()) == (list("15590*#"), None)


def test_indicator_timed_pattern_returns_to_steady(harness: Harness) -> None:
    indicator = harness.indicator()
    idle = LedPattern(green=(0.1, 0.9))
    granted = LedPattern(green=True)

    async def scenario() -> list[LedPattern]:
        indicator.set_steady(idle)
        seen = [indicator.current]
        indicator.show(granted, 0.05)
        seen.append(indicator.current)
        await asyncio.sleep(0.1)
        seen.append(indicator.current)
        return seen

    assert run(scenario()) == [idle, granted, idle]
    indicator.close()
