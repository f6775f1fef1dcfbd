"""Build every GPIO device from the pin map, on the Pi's pins or on gpiozero's mock pins.

``hardware = "sim"`` puts the same gpiozero adapters on a ``MockFactory`` (the way gpiozero
itself is tested), and ``SimPanel`` plays the person and the staff: it presses the button,
types on the keypad matrix, opens the door and turns the key by driving those mock pins, and
reads back what the relay and LEDs do.

Those mock pins keep a bounded history: gpiozero's ``MockPin`` appends every state change to
``states`` for ever, and the keypad's scan switches its four row pins every 10 ms, so a
simulated lane (the demo, a training lane, left running for days) grew by about 85 KB a second.
``BoundedMockPin`` keeps the last ``PIN_HISTORY`` changes in a deque (tests still read
``pin.states``) and counts every change in ``changes``.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from typing import Any

from gpiozero.pins.mock import MockConnectedPin, MockFactory, MockPin, PinState

from device.hardware.gpio.inputs import GpiozeroButton, GpiozeroDoorContact, GpiozeroModeSwitch
from device.hardware.gpio.keymatrix import KEYMAP_3X4
from device.hardware.gpio.keypad import GpiozeroKeypad
from device.hardware.gpio.outputs import GpiozeroBuzzer, GpiozeroIndicator, GpiozeroRelay
from device.hardware.gpio.pins import PinMap
from device.ports import Button, Buzzer, DoorContact, Indicator, Keypad, ModeSwitch, Relay

KEY_HOLD_S = 0.15  # a human press; the matrix scan needs it stable for its settle time
PIN_HISTORY = 1000  # state changes each mock pin remembers (the keypad rows: 10 s of scanning)


class _BoundedHistory:
    """Mixin over gpiozero's mock pins: ``states`` is a deque of the last ``PIN_HISTORY``
    changes (gpiozero only appends to it and iterates it), ``changes`` counts them all."""

    states: deque[PinState]
    changes: int

    def clear_states(self) -> None:
        super().clear_states()  # type: ignore[misc]  # sets _last_change and a one-item list
        self.states = deque(self.states, maxlen=PIN_HISTORY)
        self.changes = 0

    def _change_state(self, value: bool) -> bool:
        changed: bool = super()._change_state(value)  # type: ignore[misc]
        if changed:
            self.changes += 1
        return changed


class BoundedMockPin(_BoundedHistory, MockPin):  # type: ignore[misc]
    """gpiozero's ``MockPin`` with a bounded state history."""


class BoundedMockConnectedPin(_BoundedHistory, MockConnectedPin):  # type: ignore[misc]
    """gpiozero's ``MockConnectedPin`` (a keypad row wired to a column) with a bounded history."""


def sim_factory() -> MockFactory:
    """The pin factory of a simulated lane: mock pins whose histories stay bounded."""
    return MockFactory(pin_class=BoundedMockPin)


@dataclass
class GpioDevices:
    """Every GPIO device of one lane (optional ones are None when not fitted)."""

    relay: Relay
    indicator: Indicator
    buzzer: Buzzer
    button: Button
    door: DoorContact | None
    mode_switch: ModeSwitch | None
    keypad: Keypad | None
    factory: Any

    def close(self) -> None:
        """Release every pin, relay first (it ends off)."""
        always = (self.relay, self.indicator, self.buzzer, self.button)
        fitted = (self.door, self.mode_switch, self.keypad)
        for device in (*always, *fitted):
            if device is not None:
                device.close()


def build_gpio(pins: PinMap, *, sim: bool) -> GpioDevices:
    """The lane's GPIO devices; call with the event loop running (inputs bind to it)."""
    factory: Any = sim_factory() if sim else None
    loop = asyncio.get_running_loop()
    keypad = None
    if pins.keypad_rows is not None and pins.keypad_cols is not None:
        if sim:
            for row in pins.keypad_rows:
                factory.pin(row, pin_class=BoundedMockConnectedPin)
        keypad = GpiozeroKeypad(pins.keypad_rows, pins.keypad_cols, pin_factory=factory, loop=loop)
    return GpioDevices(
        relay=GpiozeroRelay(pins.relay, active_high=pins.relay_active_high, pin_factory=factory),
        indicator=GpiozeroIndicator(pins.led_green, pins.led_red, pin_factory=factory),
        buzzer=GpiozeroBuzzer(pins.buzzer, pin_factory=factory),
        button=GpiozeroButton(pins.button, pin_factory=factory, loop=loop),
        door=None
        if pins.door is None
        else GpiozeroDoorContact(pins.door, pin_factory=factory, loop=loop),
        mode_switch=None
        if pins.lockdown_key is None
        else GpiozeroModeSwitch(pins.lockdown_key, pin_factory=factory, loop=loop),
        keypad=keypad,
        factory=factory,
    )


class SimPanel:
    """The physical side of a simulated lane, acting on gpiozero mock pins."""

    def __init__(self, factory: MockFactory, pins: PinMap) -> None:
        self.factory, self.pins = factory, pins

    def _pin(self, number: int) -> Any:
        return self.factory.pin(number)

    def relay_on(self) -> bool:
        """Whether the relay pin is energised now."""
        level = bool(self._pin(self.pins.relay).state)
        return level if self.pins.relay_active_high else not level

    def leds(self) -> tuple[bool, bool]:
        """(green, red) pin states now."""
        return bool(self._pin(self.pins.led_green).state), bool(self._pin(self.pins.led_red).state)

    async def press(self, seconds: float = 0.1) -> None:
        """Press and release the override button."""
        pin = self._pin(self.pins.button)
        pin.drive_low()
        await asyncio.sleep(seconds)
        pin.drive_high()

    async def type_keys(self, keys: str) -> None:
        """Type on the keypad matrix: each key closes its row to its column for a moment."""
        assert self.pins.keypad_rows is not None
        assert self.pins.keypad_cols is not None
        for key in keys:
            r, c = next((r, row.index(key)) for r, row in enumerate(KEYMAP_3X4) if key in row)
            row_pin = self._pin(self.pins.keypad_rows[r])
            col_pin = self._pin(self.pins.keypad_cols[c])
            row_pin.input_pin = col_pin
            await asyncio.sleep(KEY_HOLD_S)
            row_pin.input_pin = None
            col_pin.drive_high()
            await asyncio.sleep(KEY_HOLD_S)

    def door(self, is_open: bool) -> None:
        """Open or shut the door (its contact is closed while the door is shut)."""
        assert self.pins.door is not None
        pin = self._pin(self.pins.door)
        pin.drive_high() if is_open else pin.drive_low()

    def lockdown(self, on: bool) -> None:
        """Turn the lockdown key (closed contact = lockdown)."""
        assert self.pins.lockdown_key is not None
        pin = self._pin(self.pins.lockdown_key)
        pin.drive_low() if on else pin.drive_high()
