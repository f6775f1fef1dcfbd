"""Static proof that every adapter and fake satisfies its port (checked by mypy, never run).

``typing.Protocol`` conformance is structural: a renamed method would otherwise surface only
when the gate logic is wired. Importing this module does nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from device import ports
    from device.hardware import fake
    from device.hardware.clock import SystemClock
    from device.hardware.gpio_inputs import (
        GpiozeroButton,
        GpiozeroDoorContact,
        GpiozeroModeSwitch,
    )
    from device.hardware.gpio_keypad import GpiozeroKeypad
    from device.hardware.gpio_outputs import GpiozeroBuzzer, GpiozeroIndicator, GpiozeroRelay
    from device.hardware.serial_modbus import ModbusThermometer
    from device.hardware.serial_scanner import GrowScanner, LineScanner
    from device.hardware.serial_thermometer import GyThermometer


def _conformance(  # pragma: no cover - a typing check, not code to run
    *,
    relay: GpiozeroRelay | fake.FakeRelay,
    indicator: GpiozeroIndicator | fake.FakeIndicator,
    buzzer: GpiozeroBuzzer | fake.FakeBuzzer,
    keypad: GpiozeroKeypad | fake.FakeKeypad,
    button: GpiozeroButton | fake.FakeButton,
    door: GpiozeroDoorContact | fake.FakeDoorContact,
    switch: GpiozeroModeSwitch | fake.FakeModeSwitch,
    clock: SystemClock | fake.FakeClock,
    thermometer: GyThermometer | ModbusThermometer | fake.FakeThermometer,
    scanner: GrowScanner | LineScanner | fake.FakeScanner,
) -> None:
    """Assign each implementation to its port type; mypy refuses a mismatch."""
    _r: ports.Relay = relay
    _i: ports.Indicator = indicator
    _b: ports.Buzzer = buzzer
    _k: ports.Keypad = keypad
    _p: ports.Button = button
    _d: ports.DoorContact = door
    _s: ports.ModeSwitch = switch
    _c: ports.Clock = clock
    _t: ports.Thermometer = thermometer
    _q: ports.QrScanner = scanner
