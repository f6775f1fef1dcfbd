"""Issue 15: the clock is trusted on the server's signed answer (or the OS's sync), never on
its retained status, which may be minutes old after a broker restart."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from device.hardware.clock import KernelSync, NoSync, SystemClock
from device.hardware.fakes.clock import FixedSync
from tests.gate.conftest import Lane


class BehindClock(SystemClock):
    """The system clock, ``lag`` seconds behind (a Pi without RTC and without NTP)."""

    def __init__(self, lag: float) -> None:
        self.lag = lag

    def wall(self) -> float:
        return time.time() - self.lag


async def test_a_stale_retained_server_status_takes_no_trust_away(
    lane_factory: Callable[..., Any],
) -> None:
    lane: Lane = await lane_factory(policy={"temperature_required": False})
    rt = lane.gate.rt
    assert rt.clock_view().trusted
    lane.server.answer_time = False  # only the status is left to hear
    lane.server.announce(at_ms=int((time.time() - 300) * 1000))  # five minutes old, retained
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        assert rt.clock_view().trusted
        await asyncio.sleep(0.02)


async def test_a_stale_retained_server_status_gives_no_trust_and_the_signed_time_tells(
    lane_factory: Callable[..., Any],
) -> None:
    """A clock five minutes behind hears a status as old as its clock is wrong: it would agree,
    and still gives nothing. The server's signed answer shows the clock is off; it stays
    untrusted, and the decision time is at least the server's (the floor)."""
    lane: Lane = await lane_factory(
        policy={"temperature_required": False}, clock=BehindClock(300.0)
    )
    rt, server = lane.gate.rt, lane.server
    server.answer_time = False
    server.announce(at_ms=int((time.time() - 300) * 1000))
    await lane.until(lambda: rt.trust.applied.config is not None, 15)
    await asyncio.sleep(1.0)
    assert not rt.clock_view().trusted
    server.answer_time = True  # the gate asks again every couple of seconds while untrusted
    await lane.until(lambda: lane.gate.timesync.taken >= 1, 10)
    view = rt.clock_view()
    assert not view.trusted
    assert view.now >= time.time() - 5  # the floor: the server's signed time, not our clock
    assert rt.anchor is not None
    assert abs(rt.clock.wall() - (rt.clock.monotonic() + rt.anchor.offset) + 300) < 2


async def test_the_oss_synchronisation_vouches_when_configured(
    lane_factory: Callable[..., Any],
) -> None:
    lane: Lane = await lane_factory(policy={"temperature_required": False})
    rt, sync = lane.gate.rt, lane.gate.timesync
    lane.server.answer_time = False
    rt.server_synced = False
    assert not rt.clock_view().trusted
    sync.os_sync = FixedSync(True)
    sync._os_at = -1e18  # look now
    sync.check_os()
    assert rt.clock_view().trusted
    sync.os_sync = FixedSync(False)
    sync._os_at = -1e18
    sync.check_os()
    assert not rt.clock_view().trusted


def test_the_kernels_word_is_read_without_privilege_and_none_never_vouches() -> None:
    assert KernelSync().synchronised(120.0) in (True, False)  # whatever this host's NTP says
    assert NoSync().synchronised(120.0) is False
