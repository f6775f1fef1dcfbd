"""The decision clock never goes below the floor and is trusted only when vouched for."""

from __future__ import annotations

import pytest

from device.core.clock import Anchor, ClockView, anchored, judge, sample

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
    assert judge(wall, FLOOR, rtc=rtc, synced=server) == expected


def test_a_server_answer_anchors_the_wall_clock_with_half_the_round_trip_as_error() -> None:
    # asked at monotonic 100.0, answered at 100.4: the server said FLOOR + 5 s
    anchor = sample(FLOOR * 1000 + 5000, 0.4, 100.4, max_rtt_s=2.0)
    assert anchor == Anchor(offset=FLOOR + 5.2 - 100.4, error=0.2)
    assert anchored(anchor, FLOOR + 5.2, 100.4, 10)  # our clock agrees
    assert anchored(anchor, FLOOR + 15.0, 100.4, 10)  # 9.8 s off + 0.2 s error: still within
    assert not anchored(anchor, FLOOR + 15.2, 100.4, 10)  # 10.2 s: outside
    assert anchored(anchor, FLOOR + 605.2, 700.4, 10)  # ten minutes on, both clocks ran
    assert not anchored(anchor, FLOOR + 905.2, 700.4, 10)  # the wall clock jumped since
    assert not anchored(None, FLOOR, 0.0, 10)


def test_a_slow_or_impossible_round_trip_anchors_nothing() -> None:
    assert sample(FLOOR * 1000, 2.5, 100.0, max_rtt_s=2.0) is None
    assert sample(FLOOR * 1000, -0.1, 100.0, max_rtt_s=2.0) is None
