"""The network goes away: the gate keeps deciding, and every event arrives exactly once, in
order, flagged offline, when the broker comes back."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from device import publisher
from device.core.model import EventDraft
from device.store.db import StoreError
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


async def test_offline_the_wal_is_still_checkpointed(
    lane_factory: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No acks come while the broker is away, yet every decision grows the WAL: the prune
    loop copies it back every ``CHECKPOINT_EVERY_S`` all the same (no commit ever does)."""
    monkeypatch.setattr(publisher, "CHECKPOINT_EVERY_S", 0.2)
    lane: Lane = await lane_factory(policy={"temperature_required": False})
    lane.broker.stop()
    await lane.until(lambda: not lane.gate.rt.link_up)
    db = Path(lane.gate.rt.settings.gate.data_dir) / "gate.db"
    before = db.stat().st_size
    drafts = [EventDraft(granted=True, reason=ReasonCode.OK, pass_ref="01" * 8)] * 300
    await lane.gate.rt.record(drafts)
    await lane.until(lambda: db.stat().st_size > before + 100_000, 5)  # in the file itself
    assert lane.gate.rt.store.depth >= 300  # and nothing unacked was pruned


async def test_the_drain_keeps_paho_to_a_window(lane_factory: Callable[..., Any]) -> None:
    """A backlog is handed to paho ``BROKER_WINDOW`` unconfirmed events at a time, so a live
    scan never competes with hundreds of queued publishes on paho's thread."""
    lane: Lane = await lane_factory(policy={"temperature_required": False})
    lane.broker.stop()
    await lane.until(lambda: not lane.gate.rt.link_up)
    drafts = [EventDraft(granted=True, reason=ReasonCode.OK, pass_ref="01" * 8)] * 1500
    await lane.gate.rt.record(drafts)
    lane.broker.start()
    await lane.until(lambda: lane.gate.rt.link_up, 30)
    seen = []
    while lane.gate.rt.store.depth > 0:
        seen.append(lane.gate.link.unconfirmed)
        await asyncio.sleep(0.002)
    assert max(seen) <= publisher.BROKER_WINDOW
    assert max(seen) > 0


def test_the_pace_lets_a_slice_through_then_spaces_the_rest() -> None:
    pace = publisher.Pace(1000)  # a slice (1 ms) holds one event
    assert pace.delay(10.0) == 0.0
    assert pace.delay(10.0) == pytest.approx(0.001)
    assert pace.delay(10.0005) == pytest.approx(0.0005)
    assert pace.delay(10.0011) == 0.0
    fast = publisher.Pace(100_000)  # 100 a slice
    assert [fast.delay(5.0) for _ in range(100)] == [0.0] * 100
    assert fast.delay(5.0) > 0


async def test_a_failing_checkpoint_leaves_the_gate_running(
    lane_factory: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full or failing disk makes the checkpoint fail: the prune logs it and tries again
    later; the daemon keeps deciding (its own commits report their failures themselves)."""
    monkeypatch.setattr(publisher, "CHECKPOINT_EVERY_S", 0.1)
    lane: Lane = await lane_factory(policy={"temperature_required": False})
    failures = []

    async def failing() -> int:
        failures.append(1)
        raise StoreError("database or disk is full")

    monkeypatch.setattr(lane.gate.rt.store, "checkpoint", failing)
    await lane.until(lambda: len(failures) >= 3)
    lane.present(lane.site.pass_text())
    decided = await lane.decision()
    assert decided.granted is True
