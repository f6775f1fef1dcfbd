"""gpiozero adapters on MockFactory: electrical levels and pin histories; the default pin map."""

from __future__ import annotations

import asyncio

import pytest
from gpiozero.pins.mock import MockFactory

from device.hardware.gpio.outputs import GpiozeroBuzzer, GpiozeroIndicator, GpiozeroRelay
from device.hardware.gpio.pins import PinMap
from device.ports import LedPattern
from tests.device.conftest import run


def test_relay_pin_history_for_a_pulse(mock_factory: MockFactory) -> None:
    relay = GpiozeroRelay(17, pin_factory=mock_factory)
    pin = mock_factory.pin(17)
    run(relay.pulse(0.05))
    pin.assert_states([False, True, False])
    relay.close()


def test_active_low_relay_is_high_when_off(mock_factory: MockFactory) -> None:
    relay = GpiozeroRelay(17, active_high=False, pin_factory=mock_factory)
    pin = mock_factory.pin(17)
    assert pin.state is True
    assert not relay.is_on
    relay.hold()
    assert pin.state is False
    assert relay.is_on
    relay.close()
    assert pin.function == "input"  # released after being driven off


def test_relay_forced_off_when_the_owner_task_is_cancelled(mock_factory: MockFactory) -> None:
    relay = GpiozeroRelay(17, pin_factory=mock_factory)
    pin = mock_factory.pin(17)

    async def scenario() -> None:
        task = asyncio.create_task(relay.pulse(30))
        await asyncio.sleep(0.01)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    run(scenario())
    assert pin.state is False
    pin.assert_states([False, True, False])


def test_indicator_drives_both_leds(mock_factory: MockFactory) -> None:
    indicator = GpiozeroIndicator(27, 22, pin_factory=mock_factory)
    green, red = mock_factory.pin(27), mock_factory.pin(22)

    async def scenario() -> tuple[bool, bool, bool, bool]:
        indicator.set_steady(LedPattern(red=True))
        steady = (green.state, red.state)
        indicator.show(LedPattern(green=True), 0.05)
        shown = (green.state, red.state)
        await asyncio.sleep(0.1)
        assert (green.state, red.state) == steady
        return (*steady, *shown)

    assert run(scenario()) == (False, True, True, False)
    indicator.close()
    assert (green.state, red.state) == (False, False)


def test_indicator_blinks(mock_factory: MockFactory) -> None:
    indicator = GpiozeroIndicator(27, 22, pin_factory=mock_factory)
    green = mock_factory.pin(27)

    async def scenario() -> None:
        indicator.set_steady(LedPattern(green=(0.02, 0.02)))
        await asyncio.sleep(0.15)

    run(scenario())
    indicator.close()
    assert sum(1 for s in green.states if s.state) >= 2


def test_buzzer_plays_the_pattern_and_ends_silent(mock_factory: MockFactory) -> None:
    buzzer = GpiozeroBuzzer(18, pin_factory=mock_factory)
    pin = mock_factory.pin(18)
    run(buzzer.play(((0.02, 0.01), (0.02, 0.01))))
    pin.assert_states([False, True, False, True, False])
    buzzer.close()


def test_default_pin_map_is_valid_and_avoids_uart_and_i2c() -> None:
    pins = PinMap().pins()
    assert len(pins) == len(set(pins)) == 14
    assert not {2, 3, 14, 15} & set(pins)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"relay": 27}, "used twice"),
        ({"relay": 14}, "UART"),
        ({"buzzer": 40}, "not a header GPIO"),
        ({"keypad_rows": (5, 6, 13)}, "3x4"),
        ({"keypad_cols": None}, "both rows and columns"),
    ],
)
def test_bad_pin_maps_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PinMap(**kwargs)  # type: ignore[arg-type]
