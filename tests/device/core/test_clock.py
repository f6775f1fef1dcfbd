"""The decision clock never goes below the floor and is trusted only when vouched for."""

from __future__ import annotations

import pytest

from device.core.clock import ClockView, judge, synced_with

FLOOR = 1_790_000_000


@pytest.mark.parametrize(
    ("wall", "rtc", "server", "expected"),
    [
        (FLOOR + 10.7, True, False, ClockView(FLOOR + 10, True)),
        (FLOOR + 10.0, False, True, ClockView(FLOOR + 10, True)),
        (FLOOR + 10.0, False, False, ClockView(FLOOR + 10, False)),  # nothing vouches
        (0.0, True, True, ClockView(FLOOR, False)),  # 1970 at boot
        (FLOOR - 3600.0, True, True, ClockView(FLOOR, False)),  # jumped back
        (FLOOR + 365 * 86400.0, False, False, ClockView(FLOOR + 365 * 86400, False)),  # +1 year
    ],
    ids=["rtc", "server", "unvouched", "1970", "backwards", "plus-a-year"],
)
def test_judge(wall: float, rtc: bool, server: bool, expected: ClockView) -> None:
    assert judge(wall, FLOOR, rtc=rtc, server_synced=server) == expected


def test_server_sync_tolerance() -> None:
    assert synced_with(FLOOR * 1000 + 5000, FLOOR, 10)
    assert not synced_with(FLOOR * 1000 + 15000, FLOOR, 10)
    assert not synced_with(FLOOR * 1000 - 15000, FLOOR, 10)
