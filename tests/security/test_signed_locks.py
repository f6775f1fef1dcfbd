"""Locks come only from the server, signed (issue 14 item 1, the locks half).

A lane locks a pass after wrong phone digits; other lanes used to learn that from its events,
unchecked, so one gate's broker password could lock any resident out everywhere. Now the server
records the lock from the event and spreads it in the signed revocation list; staff unlock it
there, and the list's unlock clears each lane's own lock.

* On the real gate daemon (tests/gate's in-process lane: simulators, a real broker, a stand-in
  server that signs): a lock in the signed list refuses the pass with ``pass_locked``, and an
  unlock in the list clears the lane's own lock after wrong digits (persisted).
* End to end with the server's real link and ingest (tests/faults' emulated gates, which hold the
  gate's real trust store): lane A reports a lock, the server records it and lane B refuses the
  pass from the signed delta; staff unlock and both lanes accept it again.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from device.core.decision import decide
from device.core.model import Lane as CoreLane
from device.core.model import Outcome, ScanAttempt
from device.core.state import GateState
from protocol.claims import PassKind
from protocol.messages import LaneDirection, PhoneCheck, Policy
from protocol.phonetag import phone_tag
from protocol.reasons import ReasonCode
from protocol.revocation import RefTime, RevocationState
from protocol.topics import TopicKind
from server.services.context import Actor
from server.services.passes import locks
from tests.faults.emulator import GateEmulator
from tests.faults.harness import build, running_gates, running_link
from tests.faults.test_revocation import issue_pass
from tests.gate.conftest import Lane, lane_factory

__all__ = ["lane_factory"]

pytestmark = [pytest.mark.broker, pytest.mark.timeout(90)]
WITHIN_S = 5.0
EAST_DESK = Actor(name="east-desk", role="staff", scope=frozenset({1}))


def _publish_full(lane: Lane, seq: int, **entries: Any) -> None:
    """A signed full list (issued when the site was made: its time must not run ahead of the
    gate's clock, or the gate would distrust its clock)."""
    data = lane.site.full(seq, issued_at=lane.site.now, **entries)
    lane.server.publish(lane.server.site_topic(TopicKind.REVOCATIONS_FULL), data, retain=True)


async def _applied(lane: Lane, seq: int) -> None:
    def at_seq() -> bool:
        rev = lane.gate.rt.trust.applied.revocations
        return rev is not None and rev.seq == seq

    await lane.until(at_seq, 10)


async def test_a_signed_lock_refuses_and_a_signed_unlock_clears_the_lanes_own_lock(
    lane_factory: Callable[..., Any],
) -> None:
    lane: Lane = await lane_factory(policy={"temperature_required": False})
    panel, now = lane.gate.panel, int(time.time())

    listed_id = os.urandom(12)
    _publish_full(lane, 2, locks=[RefTime(listed_id[:8], now - 60)])
    await _applied(lane, 2)
    assert lane.gate.rt.state.locks == {}  # nothing local: the list alone refuses it
    lane.present(lane.site.pass_text(pass_id=listed_id))
    event = await lane.decision()
    assert (event.granted, event.reason) == (False, ReasonCode.PASS_LOCKED)
    lane.scanner.command("remove")

    lent_id = os.urandom(12)
    tag = phone_tag(lane.site.phone_key, lent_id, "1357")  # the tag binds the pass id
    lent = lane.site.pass_text(PassKind.VISITOR, pass_id=lent_id, phone_tag=tag)
    lane.present(lent)
    for _ in range(3):
        await panel.type_keys("2468")
    assert (await lane.decision()).reason == ReasonCode.PASS_LOCKED
    ref = lent_id[:8].hex()
    locked_at = lane.gate.rt.state.locks[ref]
    lane.scanner.command("remove")

    _publish_full(lane, 3, unlocks=[RefTime(lent_id[:8], locked_at - 1)])  # an older lock's
    await _applied(lane, 3)
    assert ref in lane.gate.rt.state.locks  # a lock made after that unlock stays

    _publish_full(lane, 4, unlocks=[RefTime(lent_id[:8], locked_at)])
    await lane.until(lambda: ref not in lane.gate.rt.state.locks, 10)
    assert ref not in (await lane.gate.rt.store.load_state()).locks  # persisted
    lane.present(lent)
    await lane.until(lambda: lane.gate.panel.leds()[0], 5)  # asks for the digits again
    await asyncio.sleep(0.5)  # keys typed before the lane listens are dropped
    await panel.type_keys("1357")
    event = await lane.decision()
    assert (event.granted, event.reason) == (True, ReasonCode.OK)


def _lane(gate: str, direction: LaneDirection, rev: RevocationState | None) -> CoreLane:
    policy = Policy(temperature_required=False, phone_check_resident=PhoneCheck.NEVER)
    return CoreLane(
        site="gw01",
        gate=gate,
        zone=1,
        direction=direction,
        policy=policy,
        revocations=rev,
        phone_keys={},
    )


def _decide(gate: GateEmulator, text: str, state: GateState) -> Any:
    """What the lane decides for this pass now, on its applied signed list and its own state."""
    claims = gate.verify(text, int(time.time()))
    lane = _lane(gate.gate, gate.lane, gate.trust.applied.revocations)
    return decide(ScanAttempt(result=claims), state, lane, int(time.time()))[0]


async def _until(check: Callable[[], bool], gate: GateEmulator, within: float) -> float:
    """Seconds until ``check`` holds, looked at after every list the gate applies."""
    start = time.monotonic()
    async with asyncio.timeout(within):
        while not check():
            gate.applied.clear()
            if not check():
                await gate.applied.wait()
    return time.monotonic() - start


@pytest.mark.slow
async def test_a_lock_spreads_through_the_server_and_an_unlock_frees_every_lane(
    tmp_path: Path,
) -> None:
    site = await build(tmp_path)
    site.broker.start()
    try:
        async with (
            running_link(site),
            running_gates(site, "east-in", "east-out") as (lane_a, lane_b),
        ):
            for g in (lane_a, lane_b):
                await asyncio.wait_for(g.applied.wait(), 10)
            _row, text = await issue_pass(site)
            ref = lane_a.verify(text, int(time.time())).ref
            assert _decide(lane_b, text, GateState()).outcome == Outcome.GRANT

            # lane A: three wrong digits lock the pass there; its event says so
            (reported,) = await lane_a.decide(
                granted=False, reason=ReasonCode.PASS_LOCKED, pass_ref=ref
            )
            state_a = GateState().with_lock(ref, reported.at // 1000)
            assert _decide(lane_a, text, state_a).reason == ReasonCode.PASS_LOCKED

            def listed() -> bool:
                rev = lane_b.trust.applied.revocations
                return rev is not None and bytes.fromhex(ref) in rev.locks

            await _until(listed, lane_b, WITHIN_S)  # from the signed delta, not A's event
            refused = _decide(lane_b, text, GateState())
            assert (refused.outcome, refused.reason) == (Outcome.DENY, ReasonCode.PASS_LOCKED)

            env = site.env()
            try:
                lock = await locks.unlock(env, EAST_DESK, ref, "holder checked at the desk")
            finally:
                await env.db.close()
            assert lock.cleared_by == "east-desk"

            def unlocked(gate: GateEmulator) -> Callable[[], bool]:
                def check() -> bool:
                    rev = gate.trust.applied.revocations
                    return rev is not None and bytes.fromhex(ref) in rev.unlocks

                return check

            for g in (lane_a, lane_b):
                await _until(unlocked(g), g, WITHIN_S)
            rev_a = lane_a.trust.applied.revocations
            assert rev_a is not None
            assert not rev_a.locks
            unlocks = {r.hex(): at for r, at in rev_a.unlocks.items()}
            state_a, cleared = state_a.unlocked_by(unlocks)
            assert cleared == [ref]
            assert _decide(lane_a, text, state_a).outcome == Outcome.GRANT
            assert _decide(lane_b, text, GateState()).outcome == Outcome.GRANT
            assert state_a.locks == {}
    finally:
        site.broker.kill()
