"""Storing one gate's events of a batch: dedupe, replay flag, the contiguous seq, alerts.

* an ``event_id`` already stored with the same gate and seq is a duplicate delivery (QoS 1, a
  resend after a lost ack, a broker's redelivery): nothing is written, the gate is acked again;
* an ``event_id`` stored with another gate or seq is refused (the caller dead-letters it);
* a new ``event_id`` on a seq that already holds another event is a *replay*: stored with
  ``flag = seq_replay`` (outside the per-gate seq index), audited and alerted, so nothing is
  lost and nothing is hidden (a gate whose store was wiped restarts at seq 1, an attacker with
  a gate's password replays old numbers);
* then the gate's highest contiguous settled seq (stored, or refused as a dead letter) moves
  forward: that is what its ack says;
* a decision that refused a pass as locked records the lock (server.services.passes.locks),
  which bumps the revocation seq: the next signed list spreads it to every lane.
"""

from __future__ import annotations

import msgspec
from msgspec.structs import replace

from protocol.messages import GateEvent
from server.records import EventData, Gate
from server.services import audit
from server.services.alerts import patterns as alert_patterns
from server.services.alerts import rules as alert_rules
from server.services.alerts.kinds import AlertKind
from server.services.alerts.raising import occurred
from server.services.ingest.model import LINK_ACTOR, Accepted, BatchResult
from server.services.passes import locks
from server.store import ingest as ingest_store
from server.store.db import Connection


def event_row(event: GateEvent, *, flag: str | None, now: int) -> EventData:
    """The events-table row of a decoded event (the body temperature is the last reading's)."""
    temps = msgspec.to_builtins(event.temperatures)
    return EventData(
        event_id=event.event_id,
        gate=event.gate,
        seq=event.seq,
        at_ms=event.at,
        kind=event.kind.value,
        granted=event.granted,
        reason=None if event.reason is None else event.reason.value,
        pass_ref=event.pass_ref,
        body_c=temps[-1]["body_c"] if temps else None,
        temperatures=temps or None,
        received_at=now,
        boot_id=event.boot_id,
        clock_trusted=event.clock_trusted,
        lane=event.lane.value,
        offline=event.offline,
        mode=event.mode.value,
        alarm=None if event.alarm is None else event.alarm.value,
        holder_kind=event.pass_kind,
        operator=event.operator,
        note=event.note,
        flag=flag,
    )


async def store_events(
    conn: Connection,
    lane: Gate,
    items: list[Accepted],
    *,
    now: int,
    result: BatchResult,
) -> list[Accepted]:
    """Store new events of the gate ``lane``, advance its seq; returns the items to dead-letter."""
    gate = lane.id
    bodies = [(item, item.body) for item in items if isinstance(item.body, GateEvent)]
    known = await ingest_store.known_ids(conn, event_ids=[e.event_id for _, e in bodies])
    occupied = await ingest_store.occupied_seqs(conn, gate=gate, seqs=[e.seq for _, e in bodies])
    rows: list[EventData] = []
    refused: list[Accepted] = []
    duplicates = replays = 0
    for item, event in bodies:
        where = known.get(event.event_id)
        if where is not None:
            if where == (gate, event.seq):
                duplicates += 1
            else:
                refused.append(item)
            continue
        known[event.event_id] = (gate, event.seq)
        flag = ingest_store.REPLAY if event.seq in occupied else None
        occupied.add(event.seq)
        replays += flag is not None
        rows.append(event_row(event, flag=flag, now=now))
    before = await alert_patterns.history(conn, rows)
    await ingest_store.insert_events(conn, rows=rows)
    await _advance(conn, gate, rows, duplicates=duplicates, replays=replays, now=now, result=result)
    for row in rows:
        await _after_insert(conn, row, now=now, result=result)
        if await locks.on_event(conn, LINK_ACTOR, lane, row, now=now) is not None:
            result.revocations_changed = True
    for alert in await alert_patterns.on_batch(conn, rows, before, lane=lane, now=now):
        result.notices.append({"type": "alert", "alert": alert})
    return refused


async def _advance(
    conn: Connection,
    gate: str,
    rows: list[EventData],
    *,
    duplicates: int,
    replays: int,
    now: int,
    result: BatchResult,
) -> None:
    state = await ingest_store.ingest_state(conn, gate=gate, now=now)
    result.moving(gate, state.acked_seq)
    acked = state.acked_seq
    new = {r.seq for r in rows if r.flag is None}
    while acked + 1 in new:  # the usual case: the batch continues the gate's seq
        acked += 1
    acked = await ingest_store.walk_contiguous(conn, gate=gate, acked=acked)  # earlier holes
    top = max((r.seq for r in rows if r.flag is None), default=0)
    progress = replace(
        state,
        acked_seq=acked,
        max_seq=max(state.max_seq, top, acked),
        events=state.events + len(rows),
        duplicates=state.duplicates + duplicates,
        replays=state.replays + replays,
        updated_at=now,
    )
    await ingest_store.save_state(conn, progress)
    result.acks[gate] = acked
    result.stored += len(rows)
    result.duplicates += duplicates


async def _after_insert(conn: Connection, row: EventData, *, now: int, result: BatchResult) -> None:
    """Audit a replay, raise the event's alerts, and queue its live notice."""
    if row.flag is not None:
        await audit.record(
            conn,
            LINK_ACTOR,
            "ingest.seq_replay",
            at=now,
            target=f"gate:{row.gate}",
            seq=row.seq,
            event_id=row.event_id,
        )
        alert = await occurred(
            conn,
            AlertKind.SEQ_REPLAY,
            gate=row.gate,
            now=now,
            event_id=row.event_id,
            seq=row.seq,
        )
        result.notices.append({"type": "alert", "alert": alert})
    for alert in await alert_rules.on_event(conn, row, now=now):
        result.notices.append({"type": "alert", "alert": alert})
    result.notices.append({"type": "event", "event": row})  # read-only for subscribers
