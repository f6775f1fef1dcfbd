"""Static proof that every adapter and fake satisfies its port (checked by mypy, never run).

``typing.Protocol`` conformance is structural: a renamed method would otherwise surface only
when the gate logic is wired. Importing this module does nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from device import ports
    from device.hardware.clock import KernelSync, NoSync, SystemClock
    from device.hardware.drivers.modbus import ModbusThermometer
    from device.hardware.drivers.scanner import GrowScanner, LineScanner
    from device.hardware.drivers.thermometer import GyThermometer
    from device.hardware.fakes.clock import FakeClock, FixedSync
    from device.hardware.fakes.drivers import FakeScanner, FakeThermometer
    from device.hardware.fakes.gpio import (
        FakeButton,
        FakeBuzzer,
        FakeDoorContact,
        FakeIndicator,
        FakeKeypad,
        FakeModeSwitch,
        FakeRelay,
    )
    from device.hardware.gpio.inputs import (
        GpiozeroButton,
        GpiozeroDoorContact,
        GpiozeroModeSwitch,
    )
    from device.hardware.gpio.keypad import GpiozeroKeypad
    from device.hardware.gpio.outputs import GpiozeroBuzzer, GpiozeroIndicator, GpiozeroRelay


def _conformance(  # pragma: no cover - a typing check, not code to run
    *,
    relay: GpiozeroRelay | FakeRelay,
    indicator: GpiozeroIndicator | FakeIndicator,
    buzzer: GpiozeroBuzzer | FakeBuzzer,
    keypad: GpiozeroKeypad | FakeKeypad,
    button: GpiozeroButton | FakeButton,
    door: GpiozeroDoorContact | FakeDoorContact,
    switch: GpiozeroModeSwitch | FakeModeSwitch,
    clock: SystemClock | FakeClock,
    sync: KernelSync | NoSync | FixedSync,
    thermometer: GyThermometer | ModbusThermometer | FakeThermometer,
    scanner: GrowScanner | LineScanner | FakeScanner,
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
    _y: ports.SystemSync = sync
    _t: ports.Thermometer = thermometer
    _q: ports.QrScanner = scanner
