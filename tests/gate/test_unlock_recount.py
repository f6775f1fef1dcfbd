"""After staff unlock a pass (issue 16 item 7), the real gate counts wrong digit entries anew.

The whole lane runs (simulators on ptys, the gate daemon on gpiozero's mock pins, a real broker,
a stand-in server that signs): three wrong entries lock the pass; an unlock that is not signed
by the site's list key changes nothing; the signed list's unlock clears the lock, and then it
takes three wrong entries again, not one, to lock the pass.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import Any

import pytest

from protocol.reasons import ReasonCode
from protocol.revocation import RefTime
from protocol.topics import TopicKind
from tests.gate.conftest import Lane
from tests.support.site import TestSite

pytestmark = [pytest.mark.broker, pytest.mark.timeout(120)]


def _publish(lane: Lane, data: bytes) -> None:
    lane.server.publish(lane.server.site_topic(TopicKind.REVOCATIONS_FULL), data, retain=True)


async def _wrong(lane: Lane, ref: str, count: int) -> None:
    """Type one wrong entry and wait until the lane has counted it."""
    await asyncio.sleep(0.3)  # keys typed before the lane listens are dropped
    await lane.gate.panel.type_keys("2468")  # type: ignore[union-attr]
    await lane.until(lambda: lane.gate.rt.state.wrong_digits.get(ref, 0) == count, 10)


async def test_three_wrong_entries_lock_and_after_a_signed_unlock_three_again(
    lane_factory: Callable[..., Any],
) -> None:
    lane: Lane = await lane_factory(
        policy={"temperature_required": False, "phone_check_resident": "always"}
    )
    pass_id = os.urandom(12)
    ref = pass_id[:8].hex()
    text = lane.site.pass_text(pass_id=pass_id, digits="1357")

    lane.present(text)
    for n in (1, 2):
        await _wrong(lane, ref, n)
        assert ref not in lane.gate.rt.state.locks
    await asyncio.sleep(0.3)
    await lane.gate.panel.type_keys("2468")  # type: ignore[union-attr]
    event = await lane.decision()
    assert (event.granted, event.reason) == (False, ReasonCode.PASS_LOCKED)
    locked_at = lane.gate.rt.state.locks[ref]
    lane.scanner.command("remove")

    # an unlock from anyone but the server's list key is not an unlock
    forged = TestSite(now=lane.site.now).full(5, unlocks=[RefTime(pass_id[:8], locked_at)])
    _publish(lane, forged)
    await asyncio.sleep(1.5)
    assert ref in lane.gate.rt.state.locks
    rev = lane.gate.rt.trust.applied.revocations
    assert rev is None or rev.seq < 5

    signed = lane.site.full(2, issued_at=lane.site.now, unlocks=[RefTime(pass_id[:8], locked_at)])
    _publish(lane, signed)
    await lane.until(lambda: ref not in lane.gate.rt.state.locks, 10)
    assert ref not in lane.gate.rt.state.wrong_digits  # counted anew from here
    assert ref not in (await lane.gate.rt.store.load_state()).locks

    lane.present(text)
    for n in (1, 2):
        await _wrong(lane, ref, n)  # one wrong entry no longer locks: the count starts again
        assert ref not in lane.gate.rt.state.locks
    await asyncio.sleep(0.3)
    await lane.gate.panel.type_keys("2468")  # type: ignore[union-attr]
    event = await lane.decision()
    assert (event.granted, event.reason) == (False, ReasonCode.PASS_LOCKED)
    assert ref in lane.gate.rt.state.locks
