"""One gate's credentials cannot act on other gates (issue 14 items 1 and 14).

The attack as the review ran it: with a gate's broker password (on its SD card) a client
published a fake ``pass_locked`` decision and a fake entry on that gate's events topic,
retained; a lane of another zone then refused a valid pass ``pass_locked`` and another
``recently_used``. Here the same is done against a real lane (simulators, the real daemon, a
real mosquitto with the ACL ``render_acl`` writes): the lane lets both passes through. What a
lane does hear from its peers is presence only: from a peer its signed config names, never
retained, never from the future, and with no temperature in it.
"""

from __future__ import annotations

import asyncio
import json
import queue
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from protocol import messages
from protocol.messages import EventKind, GateEvent, LaneDirection, PeerPresence
from protocol.reasons import ReasonCode
from protocol.topics import TopicKind, gate_topic
from tests.gate.conftest import Lane, lane_factory
from tests.support.mqtt import TestClient

__all__ = ["lane_factory"]

pytestmark = pytest.mark.broker
SITE = "gw01"
POLICY = {"phone_check_resident": "never", "temperature_required": False, "apb_minutes": 10}


def _forged_event(gate: str, ref: str, **fields: Any) -> bytes:
    """A decision as the gate ``gate`` would publish it (seq far ahead, so nothing collides)."""
    event = GateEvent(
        kind=EventKind.DECISION,
        event_id=str(uuid.uuid4()),
        site=SITE,
        gate=gate,
        seq=900_000,
        boot_id=uuid.uuid4().hex,
        at=int(time.time() * 1000),
        clock_trusted=True,
        lane=LaneDirection.IN,
        offline=False,
        pass_ref=ref,
        pass_kind="resident",
        **fields,
    )
    return messages.encode(event)


def _presence(gate: str, ref: str, at_ms: int) -> bytes:
    return messages.encode(
        PeerPresence(site=SITE, gate=gate, pass_ref=ref, lane=LaneDirection.IN, at=at_ms)
    )


def _ref(text: str, lane: Lane) -> str:
    from protocol.passes import verify

    return verify(text, lane.gate.rt.trust.for_passes(), int(time.time())).ref


async def _peered(lane_factory: Callable[..., Any]) -> Lane:
    """east-in, with a signed config naming east-out as its only peer."""
    lane: Lane = await lane_factory(policy=POLICY)
    lane.publish_config(2, peers=("east-out",), **POLICY)
    await lane.until(lambda: lane.gate.rt.trust.applied.config.version == 2)  # type: ignore[union-attr]
    return lane


def _client(lane: Lane, accounts: dict[str, str], name: str) -> TestClient:
    client = TestClient(lane.broker.host, lane.broker.port, name, accounts[name])
    assert client.connect() == "Success"
    return client


async def _granted(lane: Lane, text: str) -> GateEvent:
    """The lane's own decision on ``text`` (the stand-in server also hears forged events)."""
    lane.present(text)
    while True:
        event: GateEvent = await lane.decision()
        if event.gate == "east-in":
            return event


async def test_forged_lock_and_entry_on_another_gates_events_change_nothing(
    lane_factory: Callable[..., Any], broker_accounts: dict[str, str]
) -> None:
    lane = await _peered(lane_factory)
    locked, entered = lane.site.pass_text(), lane.site.pass_text()
    attacker = _client(lane, broker_accounts, "west-in")  # a zone-2 gate's password
    try:
        events = str(gate_topic(SITE, "west-in", TopicKind.EVENTS))
        lock = _forged_event(
            "west-in", _ref(locked, lane), granted=False, reason=ReasonCode.PASS_LOCKED
        )
        attacker.publish(events, lock, retain=True)
        entry = _forged_event("west-in", _ref(entered, lane), granted=True, reason=ReasonCode.OK)
        attacker.publish(events, entry, retain=True)
        presence = str(gate_topic(SITE, "west-in", TopicKind.PRESENCE))
        attacker.publish(presence, _presence("west-in", _ref(entered, lane), _now_ms()))
        await asyncio.sleep(1.0)  # what the old gate applied arrived well within this
        first, second = await _granted(lane, locked), await _granted(lane, entered)
    finally:
        attacker.close()
    assert (first.granted, first.reason) == (True, ReasonCode.OK)
    assert (second.granted, second.reason) == (True, ReasonCode.OK)
    assert not lane.gate.rt.state.locks


async def test_a_gate_reads_no_other_gates_events_and_only_its_peers_presence(
    lane_factory: Callable[..., Any], broker_accounts: dict[str, str]
) -> None:
    lane = await _peered(lane_factory)
    outsider, peer = (
        _client(lane, broker_accounts, "west-in"),
        _client(lane, broker_accounts, "east-out"),
    )
    try:
        outsider.subscribe(f"gatepass/v1/{SITE}/gates/+/events")
        outsider.subscribe(str(gate_topic(SITE, "east-in", TopicKind.PRESENCE)))
        peer.subscribe(f"gatepass/v1/{SITE}/gates/+/events")
        peer.subscribe(str(gate_topic(SITE, "east-in", TopicKind.PRESENCE)))
        text = lane.site.pass_text()
        granted = await _granted(lane, text)
        assert granted.granted
        told = await asyncio.to_thread(peer.get)
        with pytest.raises(queue.Empty):
            outsider.get(timeout=1.0)  # the ACL names east-out only; nobody reads events
    finally:
        outsider.close()
        peer.close()
    assert told.topic.endswith("/gates/east-in/presence")  # no events: the ACL gives none
    body = json.loads(told.payload)
    assert set(body) == {"schema", "site", "gate", "pass_ref", "lane", "at"}  # no temperature
    assert body["pass_ref"] == _ref(text, lane)


async def test_peer_presence_counts_only_from_a_named_peer_unretained_and_clamped(
    lane_factory: Callable[..., Any], broker_accounts: dict[str, str]
) -> None:
    lane = await _peered(lane_factory)
    router = lane.gate.router
    peer = _client(lane, broker_accounts, "east-out")
    future, retained = lane.site.pass_text(), lane.site.pass_text()
    topic = str(gate_topic(SITE, "east-out", TopicKind.PRESENCE))
    try:
        refused = router.refused
        peer.publish(topic, _presence("east-out", _ref(retained, lane), _now_ms()), retain=True)
        await lane.until(lambda: router.refused > refused)
        peer.publish(topic, b"", retain=True)  # leave no retained message behind
        in_an_hour = _now_ms() + 3600 * 1000
        peer.publish(topic, _presence("east-out", _ref(future, lane), in_an_hour))
        await lane.until(lambda: _ref(future, lane) in lane.gate.rt.state.presence)
    finally:
        peer.close()
    assert _ref(retained, lane) not in lane.gate.rt.state.presence  # refused as retained
    seen = lane.gate.rt.state.presence[_ref(future, lane)]
    assert seen.at <= time.time() + 1  # clamped to the lane's clock, not an hour ahead
    denied = await _granted(lane, future)
    assert (denied.granted, denied.reason) == (False, ReasonCode.RECENTLY_USED)
    assert (await _granted(lane, retained)).granted


def _now_ms() -> int:
    return int(time.time() * 1000)
