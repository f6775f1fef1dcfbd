"""The network goes away: the gate keeps deciding, and every event arrives exactly once, in
order, flagged offline, when the broker comes back."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from device.core.model import EventDraft
from protocol.reasons import ReasonCode
from tests.gate.conftest import Lane

pytestmark = pytest.mark.broker
PEOPLE = 6


async def test_decides_offline_then_catches_up_exactly_once(
    lane_factory: Callable[..., Any],
) -> None:
    lane: Lane = await lane_factory(policy={"temperature_required": False, "relay_pulse_ms": 200})
    lane.broker.stop()
    await lane.until(lambda: not lane.gate.rt.link_up)
    for i in range(PEOPLE):
        lane.present(lane.site.pass_text())
        await lane.until(lambda i=i: lane.gate.lane.decisions == i + 1)
        lane.scanner.command("remove")
    await lane.until(lambda: lane.gate.rt.relay.opened == PEOPLE)  # residents still get in
    assert lane.gate.rt.store.depth >= PEOPLE  # and any alarm raised while offline
    lane.broker.start()
    await lane.until(lambda: sum(e.kind == "decision" for e in lane.server.events) >= PEOPLE, 30)
    events = [e for e in lane.server.events if e.kind == "decision"]
    assert [e.granted for e in events] == [True] * PEOPLE
    assert all(e.offline for e in events)
    assert all(e.reason == ReasonCode.OK for e in events)
    seqs = [e.seq for e in lane.server.events]
    assert seqs == sorted(seqs)
    assert len({e.event_id for e in lane.server.events}) == len(lane.server.events)
    await lane.until(lambda: lane.gate.rt.store.depth == 0, 15)  # every row acked and gone


async def test_unacked_events_are_sent_again(lane_factory: Callable[..., Any]) -> None:
    lane: Lane = await lane_factory(policy={"temperature_required": False})
    lane.server.ack = False  # the server stores but its acks are lost
    lane.present(lane.site.pass_text())
    first = await lane.decision()
    await lane.until(lambda: lane.server.arrived.qsize() == 0)
    lane.server.ack = True
    await lane.until(lambda: lane.gate.rt.store.depth == 0, 15)  # resent, then acked
    assert [e.event_id for e in lane.server.events].count(first.event_id) == 1


async def test_the_drain_holds_back_while_a_person_is_being_decided(
    lane_factory: Callable[..., Any],
) -> None:
    lane: Lane = await lane_factory(policy={"temperature_required": False})
    lane.broker.stop()
    await lane.until(lambda: not lane.gate.rt.link_up)
    drafts = [EventDraft(granted=True, reason=ReasonCode.OK, pass_ref="01" * 8)] * 50
    await lane.gate.rt.record(drafts)
    arrived = len(lane.server.events)
    with lane.gate.rt.urgent():  # as LaneFlow does between a scan and its relay
        lane.broker.start()
        await lane.until(lambda: lane.gate.rt.link_up, 30)
        await asyncio.sleep(1.0)
        assert len(lane.server.events) == arrived  # the backlog waited
        assert lane.gate.rt.store.depth >= 50
    await lane.until(lambda: lane.gate.rt.store.depth == 0, 15)  # and went out right after
    assert len(lane.server.events) >= arrived + 50
