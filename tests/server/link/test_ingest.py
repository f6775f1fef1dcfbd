"""Ingest against a real broker: idempotent store, end-to-end acks, replays, mismatches, QoS."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import msgspec
import pytest
import sqlalchemy as sa

from protocol import messages
from protocol.messages import Ack, EventKind, GateEvent, LaneDirection
from protocol.reasons import ReasonCode
from protocol.topics import TopicKind, gate_topic
from server.services.live import Hub
from server.store.schema import audit_log, events
from server.store.schema_gates import dead_letters, gate_ingest
from tests.faults.harness import SITE, LinkSite, running_gates, running_link, until
from tests.support.mqtt import TestClient

pytestmark = pytest.mark.broker


async def rows(site: LinkSite, query: Any) -> list[dict[str, Any]]:
    env = site.env()
    try:
        async with env.db.read() as conn:
            return [dict(r._mapping) for r in await conn.execute(query)]
    finally:
        await env.db.close()


def event(gate: str, seq: int, *, at: int, **fields: Any) -> GateEvent:
    base: dict[str, Any] = {
        "kind": EventKind.DECISION,
        "event_id": str(uuid.uuid4()),
        "site": SITE,
        "gate": gate,
        "seq": seq,
        "boot_id": "ab" * 16,
        "at": at,
        "clock_trusted": True,
        "lane": LaneDirection.IN,
        "offline": False,
        "granted": True,
        "reason": ReasonCode.OK,
    }
    return GateEvent(**(base | fields))


def client(site: LinkSite, gate: str) -> TestClient:
    made = TestClient(site.broker.host, site.broker.port, gate, site.passwords[gate])
    assert made.connect() == "Success"
    return made


async def test_events_are_stored_once_and_acked_after_commit(link_site: LinkSite) -> None:
    async with running_link(link_site) as link, running_gates(link_site, "east-in") as (gate,):
        await gate.decide(40, pass_ref="0123456789abcdef")
        await gate.drained()
        assert len(link.mqtt.state.granted) == 4  # events, status, command results, time
        assert set(link.mqtt.state.granted.values()) == {1}  # QoS 1 granted on every filter
    stored = await rows(link_site, sa.select(events).order_by(events.c.seq))
    assert [r["event_id"] for r in stored] == gate.committed
    assert [r["seq"] for r in stored] == list(range(1, 41))
    assert {r["lane"] for r in stored} == {"in"}
    assert stored[0]["pass_ref"] == "0123456789abcdef"
    (state,) = await rows(link_site, sa.select(gate_ingest))
    assert (state["acked_seq"], state["max_seq"], state["events"]) == (40, 40, 40)


async def test_duplicates_make_one_row_and_are_acked_again(link_site: LinkSite) -> None:
    at = link_site.clock.now() * 1000
    first = event("east-in", 1, at=at)
    topic = str(gate_topic(SITE, "east-in", TopicKind.EVENTS))
    gate = await asyncio.to_thread(client, link_site, "east-in")
    try:
        assert await asyncio.to_thread(
            gate.subscribe, str(gate_topic(SITE, "east-in", TopicKind.ACKS))
        ) == [1]
        async with running_link(link_site):
            acks = []
            for _ in range(3):  # one at a time: each delivery is acked again
                await asyncio.to_thread(gate.publish, topic, messages.encode(first))
                got = await asyncio.to_thread(gate.get, 10)
                acks.append(messages.decode(TopicKind.ACKS, got.payload, Ack))
    finally:
        gate.close()
    assert [a.seq for a in acks] == [1, 1, 1]
    assert len(await rows(link_site, sa.select(events))) == 1
    (state,) = await rows(link_site, sa.select(gate_ingest))
    assert state["duplicates"] == 2


async def test_a_replayed_seq_is_flagged_audited_and_kept_out_of_the_ack(
    link_site: LinkSite,
) -> None:
    at = link_site.clock.now() * 1000
    topic = str(gate_topic(SITE, "east-in", TopicKind.EVENTS))
    gate = await asyncio.to_thread(client, link_site, "east-in")
    try:
        hub = Hub()
        async with running_link(link_site, hub), hub.subscribe() as inbox:
            for e in (
                event("east-in", 1, at=at),
                event("east-in", 2, at=at),
                event("east-in", 1, at=at),
            ):
                await asyncio.to_thread(gate.publish, topic, messages.encode(e))
            await until(inbox, lambda n: n["type"] == "event" and n["event"].flag is not None)
    finally:
        gate.close()
    stored = await rows(link_site, sa.select(events).order_by(events.c.id))
    assert [(r["seq"], r["flag"]) for r in stored] == [(1, None), (2, None), (1, "seq_replay")]
    audits = await rows(
        link_site, sa.select(audit_log).where(audit_log.c.action == "ingest.seq_replay")
    )
    assert [a["target"] for a in audits] == ["gate:east-in"]
    (state,) = await rows(link_site, sa.select(gate_ingest))
    assert (state["acked_seq"], state["replays"]) == (2, 1)


async def test_a_gate_speaking_for_another_is_dead_lettered_and_audited(
    link_site: LinkSite,
) -> None:
    at = link_site.clock.now() * 1000
    forged = event("east-out", 1, at=at)  # east-in's account, east-in's topic, east-out's id
    gate = await asyncio.to_thread(client, link_site, "east-in")
    try:
        hub = Hub()
        async with running_link(link_site, hub), hub.subscribe() as inbox:
            topic = str(gate_topic(SITE, "east-in", TopicKind.EVENTS))
            await asyncio.to_thread(gate.publish, topic, messages.encode(forged))
            await until(inbox, lambda n: n["type"] == "dead_letter")
    finally:
        gate.close()
    (letter,) = await rows(link_site, sa.select(dead_letters))
    assert (letter["reason"], letter["gate"]) == ("gate_mismatch", "east-in")
    assert msgspec.json.decode(letter["payload"])["gate"] == "east-out"
    audits = await rows(
        link_site, sa.select(audit_log).where(audit_log.c.action == "ingest.gate_mismatch")
    )
    assert len(audits) == 1
    assert await rows(link_site, sa.select(events)) == []


async def test_the_session_is_persistent_and_resumed(link_site: LinkSite) -> None:
    async with running_link(link_site) as link:
        assert link.mqtt.state.session_present is False
    at = link_site.clock.now() * 1000
    gate = await asyncio.to_thread(client, link_site, "east-in")
    try:  # published while the server is away: the broker queues it in the server's session
        await asyncio.to_thread(
            gate.publish,
            str(gate_topic(SITE, "east-in", TopicKind.EVENTS)),
            messages.encode(event("east-in", 1, at=at)),
        )
    finally:
        gate.close()
    hub = Hub()
    async with hub.subscribe() as inbox, running_link(link_site, hub) as link:
        assert link.mqtt.state.session_present is True
        await until(inbox, lambda n: n["type"] == "event")
