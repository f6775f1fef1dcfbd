"""An event the server must refuse is acknowledged as refused (issue 14 item 6, unit level).

The server's real ingest (``server.link.ingest.Ingest`` on a provisioned site's SQLite file,
with a transport that keeps what it publishes) is handed events a gate could send: a ``null``
temperature (what a NaN became), bytes that are not JSON (with the seq in the publish's user
property, as gates of this version send it), an event from the future. Each is dead-lettered
with its seq, the ack names it with a reason code, and the window moves on. On the gate: what
is committed decodes as the server decodes it (a NaN reading is left out loudly, never sent as
``null``), a refusal in an ack moves the row to the dead-letter table, and malformed acks
(reliability-security.md 9.1 item 18, for the new field) change nothing.
"""

from __future__ import annotations

import itertools
import json
import math
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
import sqlalchemy as sa

from device.core.events import Settled, Stamp, Unsendable, settle
from device.core.model import EventDraft, Temperature
from device.store.outbox import GateStore
from device.store.outbox import Unsendable as StoreUnsendable
from protocol import messages
from protocol.claims import PassKind
from protocol.errors import MessageError
from protocol.messages import (
    MAX_REFUSED,
    SEQ_PROPERTY,
    Ack,
    GateEvent,
    LaneDirection,
    Mode,
    Refusal,
)
from protocol.reasons import ReasonCode, RefusalCode
from protocol.topics import TopicKind, gate_topic
from server.link.ingest import Ingest, acks_for
from server.link.mqtt import Inbound
from server.store.schema import events
from server.store.schema_gates import alerts, dead_letters, gate_ingest
from tests.device.store.helpers import events as gate_events
from tests.faults.harness import SITE, LinkSite, build

GATE = "east-in"
TOPIC = str(gate_topic(SITE, GATE, TopicKind.EVENTS))
ACKS = str(gate_topic(SITE, GATE, TopicKind.ACKS))


class Recorder:
    """The broker side of ingest: keeps every publish, counts PUBACKs."""

    def __init__(self) -> None:
        self.published: list[tuple[str, bytes]] = []
        self.pubacks = 0

    def ack(self, message: Inbound) -> None:
        self.pubacks += 1

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> bool:
        self.published.append((topic, payload))
        return True

    def acks(self) -> list[Ack]:
        """The acks published since the last call, decoded as a gate decodes them."""
        got = [messages.decode(TopicKind.ACKS, p, Ack) for t, p in self.published if t == ACKS]
        self.published.clear()
        return got


def body(seq: int, at: int, **changes: Any) -> dict[str, Any]:
    return {
        "schema": 1,
        "kind": "decision",
        "event_id": str(uuid.uuid4()),
        "site": SITE,
        "gate": GATE,
        "seq": seq,
        "boot_id": "ab" * 16,
        "at": at,
        "clock_trusted": True,
        "lane": "in",
        "offline": False,
        "granted": True,
        "reason": "ok",
    } | changes


def inbound(payload: bytes, *, seq: int | None = None, mid: int = 1) -> Inbound:
    user = () if seq is None else ((SEQ_PROPERTY, str(seq)),)
    return Inbound(TOPIC, payload, mid, 1, False, 1, user)


def null_temperature(seq: int, at: int) -> bytes:
    """What a gate of the previous version sent after ``raw 32767 2510``."""
    reading = {"object_c": None, "ambient_c": 25.1, "offset_c": 0.0, "body_c": None}
    return json.dumps(
        body(seq, at, granted=False, reason="implausible_temperature", temperatures=[reading])
    ).encode()


@pytest.fixture
async def ingest(tmp_path: Path) -> AsyncIterator[tuple[Ingest, Recorder, LinkSite]]:
    site = await build(tmp_path)  # the broker is not needed: ingest is driven directly
    env = site.env()
    recorder = Recorder()
    try:
        yield Ingest(env, SITE, recorder), recorder, site
    finally:
        await env.db.close()


async def rows(site: LinkSite, query: Any) -> list[dict[str, Any]]:
    env = site.env()
    try:
        async with env.db.read() as conn:
            return [dict(r._mapping) for r in await conn.execute(query)]
    finally:
        await env.db.close()


async def test_invalid_events_are_acked_as_refused_and_the_window_moves_on(
    ingest: tuple[Ingest, Recorder, LinkSite],
) -> None:
    link, recorder, site = ingest
    at = site.clock.now() * 1000
    nulls = null_temperature(2, at)
    batch = [
        inbound(json.dumps(body(1, at)).encode()),
        inbound(nulls),  # no user property: the payload still names its seq
        inbound(b'{"seq": 3, "site": "gw01", \xff not json', seq=3),  # only the property does
        inbound(json.dumps(body(4, at + 10 * 365 * 86400_000)).encode(), seq=4),  # the future
        inbound(json.dumps(body(5, at)).encode(), seq=5),
    ]
    await link.handle(batch)
    refused = {2: RefusalCode.WRONG_TYPE, 3: RefusalCode.MALFORMED, 4: RefusalCode.TIME_IN_FUTURE}
    first, plain = recorder.acks()
    assert first.seq == 5
    assert [(r.seq, r.reason) for r in first.refused or []] == sorted(refused.items())
    assert plain == Ack(site=SITE, gate=GATE, seq=5, at=first.at)  # for a gate of before
    assert recorder.pubacks == len(batch)
    (state,) = await rows(site, sa.select(gate_ingest))
    assert state["acked_seq"] == 5
    letters = await rows(site, sa.select(dead_letters).order_by(dead_letters.c.seq))
    assert [(r["seq"], r["reason"]) for r in letters] == sorted(refused.items())

    # the gate missed that ack and sends seq 2 again: named again, kept once
    await link.handle([inbound(nulls, seq=2, mid=9)])
    (again, plain) = recorder.acks()
    assert (again.seq, [(r.seq, r.reason) for r in again.refused or []]) == (
        5,
        [(2, RefusalCode.WRONG_TYPE)],
    )
    assert len(await rows(site, sa.select(dead_letters))) == len(refused)

    # a refusal ahead of a hole is named once the hole is filled
    await link.handle([inbound(b"\x00garbage", seq=7)])
    (ack,) = recorder.acks()
    assert (ack.seq, ack.refused) == (5, msgspec.UNSET)
    await link.handle([inbound(json.dumps(body(6, at)).encode(), seq=6)])
    named, plain = recorder.acks()
    assert (named.seq, [r.seq for r in named.refused or []]) == (7, [7])
    assert plain.seq == 7
    stored = await rows(site, sa.select(events.c.seq).order_by(events.c.seq))
    assert [r["seq"] for r in stored] == [1, 5, 6]
    (alert,) = await rows(site, sa.select(alerts).where(alerts.c.kind == "event_refused"))
    assert (alert["gate"], alert["count"]) == (GATE, 4)  # staff see it once, counted per letter


async def test_bytes_that_name_nothing_are_claimed_by_seq_when_sent_again(
    ingest: tuple[Ingest, Recorder, LinkSite],
) -> None:
    """A row the SD card corrupted: sent the first time without the property, the server can
    only keep it; the gate sends it again after the silence with its seq, and the window moves."""
    link, recorder, site = ingest
    at = site.clock.now() * 1000
    rotten = b"\x93\x00 not an event"
    await link.handle([inbound(json.dumps(body(1, at)).encode()), inbound(rotten)])
    (ack,) = recorder.acks()
    assert (ack.seq, ack.refused) == (1, msgspec.UNSET)
    await link.handle([inbound(json.dumps(body(3, at)).encode())])
    (ack,) = recorder.acks()
    assert ack.seq == 1  # seq 2 holds the window
    await link.handle([inbound(rotten, seq=2)])  # the resend after the silence
    named, plain = recorder.acks()
    assert (named.seq, [(r.seq, r.reason) for r in named.refused or []]) == (
        3,
        [(2, RefusalCode.MALFORMED)],
    )
    assert plain.seq == 3
    (letter,) = await rows(site, sa.select(dead_letters))
    assert (letter["seq"], letter["reason"]) == (2, "malformed_message")  # one letter, claimed
    (alert,) = await rows(site, sa.select(alerts).where(alerts.c.kind == "event_refused"))
    assert alert["count"] == 1


async def test_a_refusal_of_a_stored_seq_is_never_named(
    ingest: tuple[Ingest, Recorder, LinkSite],
) -> None:
    """Garbage published with a gate's password under a seq the server holds (or will hold) an
    event for must not make the gate set that event aside."""
    link, recorder, site = ingest
    at = site.clock.now() * 1000
    await link.handle([inbound(json.dumps(body(1, at)).encode())])
    await link.handle([inbound(b"forged", seq=1), inbound(b"forged ahead", seq=3)])
    await link.handle([inbound(json.dumps(body(s, at)).encode()) for s in (2, 3)])
    acks = recorder.acks()
    assert [a.refused for a in acks] == [msgspec.UNSET] * len(acks)
    assert acks[-1].seq == 3
    assert len(await rows(site, sa.select(dead_letters))) == 2  # both kept for inspection


async def test_an_event_of_an_unknown_gate_moves_no_window(
    ingest: tuple[Ingest, Recorder, LinkSite],
) -> None:
    link, recorder, site = ingest
    topic = str(gate_topic(SITE, "west-9", TopicKind.EVENTS))
    payload = json.dumps(body(1, site.clock.now() * 1000, gate="west-9", temperatures=[{}]))
    await link.handle([Inbound(topic, payload.encode(), 1, 1, False, 1, ((SEQ_PROPERTY, "1"),))])
    assert recorder.acks() == []
    assert await rows(site, sa.select(gate_ingest)) == []
    (letter,) = await rows(site, sa.select(dead_letters))
    assert letter["seq"] is None


def test_many_refusals_go_out_in_several_acks_each_below_the_next() -> None:
    codes = dict.fromkeys(range(10, 10 + 2 * MAX_REFUSED + 5), RefusalCode.OUT_OF_RANGE)
    acks = acks_for(SITE, GATE, 500, codes, at=1)
    assert len(acks) == 4  # three with refusals, then the plain one
    named = [r.seq for a in acks for r in a.refused or []]
    assert named == sorted(codes)
    for ack, after in itertools.pairwise(acks):
        if after.refused:
            assert ack.seq == after.refused[0].seq - 1  # no row goes before it is named
    assert [a.seq for a in acks[-2:]] == [500, 500]
    for ack in acks:  # each fits the topic's cap
        messages.decode(TopicKind.ACKS, messages.encode(ack), Ack)


# --- the gate ------------------------------------------------------------------------------

STAMP = Stamp(SITE, GATE, "ab" * 16, 1_790_000_000_000, True, LaneDirection.IN, False, Mode.NORMAL)
NAN = Temperature(math.nan, 25.1, 0.0, math.nan)
GOOD = Temperature(35.4, 25.1, 0.8, 36.2)


def test_a_nan_reading_is_left_out_of_the_event_never_sent_as_null() -> None:
    draft = EventDraft(
        granted=False,
        reason=ReasonCode.IMPLAUSIBLE_TEMPERATURE,
        pass_ref="01" * 8,
        pass_kind=PassKind.RESIDENT,
        temperatures=(GOOD, NAN, Temperature(380.0, 25.1, 5.0, 385.0)),
    )
    got = settle(draft, STAMP, seq=3, event_id=str(uuid.uuid4()))
    assert isinstance(got, Settled)
    assert got.dropped == ("temperatures",)
    assert isinstance(got.problem, MessageError)
    decoded = messages.decode(TopicKind.EVENTS, got.payload, GateEvent)
    assert decoded == got.event
    assert [t.body_c for t in decoded.temperatures] == [36.2]  # the reading that was real
    assert (decoded.granted, decoded.reason) == (False, ReasonCode.IMPLAUSIBLE_TEMPERATURE)


def test_an_event_that_cannot_be_corrected_is_unsendable() -> None:
    draft = EventDraft(granted=True, reason=ReasonCode.OK, pass_ref="NOT-A-REF", note="\x1b[2J")
    got = settle(draft, STAMP, seq=3, event_id=str(uuid.uuid4()))
    assert isinstance(got, Unsendable)
    assert got.problem.refusal == RefusalCode.OUT_OF_RANGE


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[GateStore]:
    opened = await GateStore.open(tmp_path / "gate.db", max_events=100, reseed=10**12)
    try:
        yield opened
    finally:
        await opened.close()


async def test_the_store_never_commits_what_the_server_would_refuse(store: GateStore) -> None:
    (event,) = gate_events(1)
    bad = msgspec.structs.replace(event, temperatures=[NAN.wire()])
    with pytest.raises(StoreUnsendable):
        await store.record([bad])
    assert (store.depth, store.next_seq) == (0, 1)  # nothing written, no seq taken


async def test_a_refusal_moves_the_row_to_the_dead_letters_and_is_heard_once(
    store: GateStore, tmp_path: Path
) -> None:
    await store.record(gate_events(1, 4))
    moved = await store.refuse([(2, RefusalCode.WRONG_TYPE), (3, RefusalCode.MALFORMED)], at=7)
    assert moved == 2
    assert await store.refuse([(2, RefusalCode.WRONG_TYPE)], at=8) == 0  # heard again
    assert [p.seq for p in await store.pending(0, 10)] == [1, 4]
    assert (store.depth, store.dead) == (2, 2)
    letters = await store.dead_letters()
    assert sorted((d.seq, d.reason, d.refused_by) for d in letters) == [
        (2, RefusalCode.WRONG_TYPE, "server"),
        (3, RefusalCode.MALFORMED, "server"),
    ]
    await store.close()
    reopened = await GateStore.open(tmp_path / "gate.db", max_events=100, reseed=10**12)
    try:
        assert (reopened.depth, reopened.dead) == (2, 2)
    finally:
        await reopened.close()


HEAD = b'{"at":1,"gate":"east-in","seq":5,"site":"gw01",'
MALFORMED_REFUSALS = [
    b'"refused":[]}',  # empty: the server leaves the field out instead
    b'"refused":[{"seq":0,"reason":"wrong_type"}]}',
    b'"refused":[{"seq":6,"reason":"wrong_type"}]}',  # above the ack's own seq
    b'"refused":[{"seq":2,"reason":"because"}]}',  # not a refusal code
    b'"refused":[{"seq":2}]}',
    b'"refused":[{"seq":"2","reason":"wrong_type"}]}',
    b'"refused":[{"seq":NaN,"reason":"wrong_type"}]}',
    b'"refused":[{"seq":2.0,"reason":"wrong_type"}]}',
    b'"refused":{"2":"wrong_type"}}',
    b'"refused":[{"seq":2,"reason":"wrong_type","x":1}]}',
    b'"refused":[{"seq":99999999999999999999,"reason":"wrong_type"}]}',
    b'"refused":[' + b"[" * 5000 + b"]]}",
]


def test_an_ack_takes_well_formed_refusals_and_refuses_malformed_ones_whole() -> None:
    """reliability-security.md 9.1 item 18 for the ack's new field."""
    good = messages.decode(
        TopicKind.ACKS, HEAD + b'"refused":[{"seq":2,"reason":"wrong_type"}]}', Ack
    )
    assert good.refused == [Refusal(seq=2, reason=RefusalCode.WRONG_TYPE)]
    too_many = {
        "at": 1,
        "gate": GATE,
        "seq": 500,
        "site": SITE,
        "refused": [{"seq": s, "reason": "wrong_type"} for s in range(1, MAX_REFUSED + 2)],
    }
    for tail in [*MALFORMED_REFUSALS, None]:
        payload = json.dumps(too_many).encode() if tail is None else HEAD + tail
        with pytest.raises(MessageError):
            messages.decode(TopicKind.ACKS, payload, Ack)


def test_the_seq_property_takes_only_one_plain_number() -> None:
    take = messages.seq_from_properties
    assert take([(SEQ_PROPERTY, "42")]) == 42
    for bad in ("0", "-1", "+1", " 1", "1e3", "٤٢", "9" * 17, str(2**53 + 1), ""):
        assert take([(SEQ_PROPERTY, bad)]) is None, bad
    assert take([(SEQ_PROPERTY, "1"), (SEQ_PROPERTY, "2")]) is None  # which one?
    assert take([("other", "1")]) is None


def test_a_plain_ack_is_the_same_bytes_a_gate_of_before_reads() -> None:
    ack = Ack(site=SITE, gate=GATE, seq=41, at=1)
    assert messages.encode(ack) == b'{"at":1,"gate":"east-in","schema":1,"seq":41,"site":"gw01"}'
    with_refusal = Ack(
        site=SITE, gate=GATE, seq=41, at=1, refused=[Refusal(seq=40, reason=RefusalCode.WRONG_TYPE)]
    )
    assert b'"refused":[{"reason":"wrong_type","seq":40}]' in messages.encode(with_refusal)
