"""Whether the gate may trust its clock, and the time it decides with (design.md 4.2, G-10).

The decision time never falls below the last known good time (the floor persisted in the
store), so a clock that jumped back or a Pi that booted in 1970 can never make an expired pass
valid again. The clock is *trusted* only when it is at or above the floor and something vouches
for it: a battery-backed RTC, or the server's clock seen within the allowed skew.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ClockView:
    """The time to decide with (unix seconds) and whether it is trusted."""

    now: int
    trusted: bool


def judge(wall: float, floor: int, *, rtc: bool, server_synced: bool) -> ClockView:
    """Combine the wall clock, the persisted floor and what vouches for the clock."""
    if wall < floor:
        return ClockView(now=floor, trusted=False)
    return ClockView(now=int(wall), trusted=rtc or server_synced)


def synced_with(server_ms: int, wall: float, max_skew_s: int) -> bool:
    """True if the server's clock (from its status) agrees with ours within ``max_skew_s``."""
    return abs(server_ms / 1000 - wall) <= max_skew_s
