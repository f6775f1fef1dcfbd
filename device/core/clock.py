"""Whether the gate may trust its clock, and the time it decides with (design.md 4.2, G-10).

The decision time never falls below the last known good time (the floor persisted in the
store), so a clock that jumped back or a Pi that booted in 1970 can never make an expired pass
valid again. The clock is *trusted* only when it is at or above the floor and something vouches
for it: a battery-backed RTC, the operating system saying its clock is synchronised (NTP), or
a signed time answer from the server (``sample``) whose round trip bounds its error.

A server answer *anchors* the wall clock to the monotonic clock: the true time minus the
monotonic time at the answer. It keeps vouching while the wall clock stays within the allowed
skew of that anchor, so a clock set by hand or jumping afterwards loses the trust at once, and
one that was wrong to begin with never gets it. The server's retained status vouches for
nothing: it may be minutes old (a broker restart replays it) and it is not signed.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ClockView:
    """The time to decide with (unix seconds) and whether it is trusted."""

    now: int
    trusted: bool


@dataclass(frozen=True, slots=True)
class Anchor:
    """What one signed time answer established: true wall time minus monotonic time, and the
    error bound (half the round trip), both in seconds."""

    offset: float
    error: float


def judge(wall: float, floor: int, *, rtc: bool, synced: bool) -> ClockView:
    """Combine the wall clock, the persisted floor and what vouches for the clock
    (``synced``: the OS's synchronisation or a server answer)."""
    if wall < floor:
        return ClockView(now=floor, trusted=False)
    return ClockView(now=int(wall), trusted=rtc or synced)


def sample(server_ms: int, rtt_s: float, received_mono: float, max_rtt_s: float) -> Anchor | None:
    """The anchor of a server answer received at ``received_mono`` after ``rtt_s`` seconds;
    None if the round trip was too long to bound the error usefully (or negative)."""
    if not 0.0 <= rtt_s <= max_rtt_s:
        return None
    half = rtt_s / 2
    return Anchor(offset=server_ms / 1000 + half - received_mono, error=half)


def anchored(anchor: Anchor | None, wall: float, mono: float, max_skew_s: float) -> bool:
    """True if the wall clock agrees with the anchored server time within ``max_skew_s``
    (the answer's own error counted against us)."""
    if anchor is None:
        return False
    return abs(wall - (mono + anchor.offset)) + anchor.error <= max_skew_s
