"""Temperatures: NaN, infinities and impossible values never become a reading (G-17, 9.1 #15)."""

from __future__ import annotations

import math

import pytest

from device.hardware.fakes.drivers import FakeThermometer
from device.hardware.readings import StuckDetector, check_offset, make_reading
from device.ports import Reading, ReadingError, ReadingFault
from tests.device.conftest import run


@pytest.mark.parametrize(
    ("obj", "amb", "fault"),
    [
        (math.nan, 25.0, ReadingFault.NOT_FINITE),
        (34.0, math.nan, ReadingFault.NOT_FINITE),
        (math.inf, 25.0, ReadingFault.NOT_FINITE),
        (-math.inf, 25.0, ReadingFault.NOT_FINITE),
        (999.9, 25.0, ReadingFault.OUT_OF_RANGE),
        (-100.0, 25.0, ReadingFault.OUT_OF_RANGE),
        (34.0, 200.0, ReadingFault.OUT_OF_RANGE),
    ],
)
def test_impossible_values_are_errors(obj: float, amb: float, fault: ReadingFault) -> None:
    item = make_reading(obj, amb, offset_c=1.0, at=5.0, model="t")
    assert isinstance(item, ReadingError)
    assert item.fault == fault


@pytest.mark.parametrize("value", [-1.0, 0.0, 99.9])
def test_odd_but_physical_values_stay_raw(value: float) -> None:
    """-1, 0 and 99.9 are sensor-possible: kept as measured for the gate's plausibility check."""
    item = make_reading(value, 25.0, offset_c=1.5, at=1.0, model="t")
    assert isinstance(item, Reading)
    assert item.object_c == value
    assert item.body_c == round(value + 1.5, 4)


def test_body_estimate_is_object_plus_offset_and_nothing_else() -> None:
    item = make_reading(34.2, 25.1, offset_c=2.41, at=3.0, model="gy-mcu90614")
    assert item == Reading(34.2, 25.1, 2.41, 36.61, 3.0, "gy-mcu90614")


def test_reading_refuses_nan_even_when_built_by_hand() -> None:
    with pytest.raises(ValueError, match="finite"):
        Reading(math.nan, 25.0, 0.0, math.nan, 1.0, "hand")


@pytest.mark.parametrize("offset", [math.nan, math.inf, 11.0, -10.5])
def test_offset_is_validated(offset: float) -> None:
    with pytest.raises(ValueError, match="offset"):
        check_offset(offset)


def test_stuck_detector() -> None:
    stuck = StuckDetector(after=10.0)
    assert not stuck.is_stuck((3420, 2510), 0.0)
    assert not stuck.is_stuck((3420, 2510), 9.0)
    assert stuck.is_stuck((3420, 2510), 10.0)
    assert not stuck.is_stuck((3421, 2510), 10.1)
    assert not StuckDetector(after=None).is_stuck(1, 1e9)


def test_fake_thermometer_goes_through_the_same_checks() -> None:
    async def scenario() -> tuple[object, object]:
        fake = FakeThermometer(offset_c=1.0)
        fake.feed(math.nan, 25.0)
        nan_result = await fake.read(within=0.1)
        fake.feed(34.0, 25.0)
        return nan_result, await fake.read(within=0.1)

    nan_result, good = run(scenario())
    assert isinstance(nan_result, ReadingError)
    assert nan_result.fault == ReadingFault.NOT_FINITE
    assert isinstance(good, Reading)
    assert good.body_c == 35.0
