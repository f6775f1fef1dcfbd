"""SQL of event ingest: idempotent inserts, the per-gate contiguous seq, gaps and dead letters.

Everything here runs inside the ingest's write transaction, so a batch of events, the gate's new
contiguous seq and any gap it declares commit together, before anything is acked. A seq is
settled when an unflagged event holds it or a dead letter refused it (``dead_letters.seq``):
the contiguous seq walks through both, so one refused event never holds back the rest.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

import msgspec
import sqlalchemy as sa

from server.records import EventData, IngestState, SeqGap
from server.store.db import Connection
from server.store.query import records, values_of
from server.store.schema import events
from server.store.schema_gates import dead_letters, gate_ingest, seq_gaps

WALK_CHUNK = 1000
DEAD_LETTER_KEEP = 64 * 1024  # bytes of a dead payload kept for inspection
REPLAY = "seq_replay"


async def known_ids(conn: Connection, *, event_ids: Sequence[str]) -> dict[str, tuple[str, int]]:
    """Which of ``event_ids`` are stored already, with their (gate, seq)."""
    if not event_ids:
        return {}
    query = sa.select(events.c.event_id, events.c.gate, events.c.seq).where(
        events.c.event_id.in_(list(event_ids))
    )
    return {r.event_id: (r.gate, r.seq) for r in await conn.execute(query)}


async def occupied_seqs(conn: Connection, *, gate: str, seqs: Sequence[int]) -> set[int]:
    """Which of ``seqs`` already hold an (unflagged) event of ``gate``."""
    if not seqs:
        return set()
    query = sa.select(events.c.seq).where(
        events.c.gate == gate, events.c.flag.is_(None), events.c.seq.in_(list(seqs))
    )
    return set((await conn.scalars(query)).all())


_COLUMNS = [c.name for c in events.c if c.name != "id"]
_JSON_AT = [i for i, c in enumerate(_COLUMNS) if isinstance(events.c[c].type, sa.JSON)]
_VALUES = operator.attrgetter(*_COLUMNS)
_json = msgspec.json.Encoder().encode


def _driver_row(row: EventData) -> tuple[Any, ...]:
    values = list(_VALUES(row))
    for i in _JSON_AT:
        if values[i] is not None:
            values[i] = _json(values[i]).decode()
    return tuple(values)


async def insert_events(conn: Connection, *, rows: list[EventData]) -> None:
    """Insert new event rows (the caller has removed duplicates).

    On SQLite one driver-level ``executemany`` (a third of the per-row cost of Core's
    parameter processing, the hot path of ingest); on other databases the portable Core insert.
    JSON columns are written as compact JSON text, which the JSON type reads back alike.
    """
    if not rows:
        return
    if conn.dialect.name != "sqlite":
        await conn.execute(sa.insert(events), [msgspec.structs.asdict(r) for r in rows])
        return
    marks = ", ".join("?" for _ in _COLUMNS)
    sql = f"INSERT INTO events ({', '.join(_COLUMNS)}) VALUES ({marks})"  # noqa: S608 - fixed names
    await conn.exec_driver_sql(sql, [_driver_row(r) for r in rows])


async def ingest_state(conn: Connection, *, gate: str, now: int) -> IngestState:
    """The gate's ingest row, created at zero on first contact."""
    row = (await conn.execute(sa.select(gate_ingest).where(gate_ingest.c.gate == gate))).first()
    if row is not None:
        return IngestState(**row._mapping)
    state = IngestState(
        gate=gate, acked_seq=0, max_seq=0, events=0, duplicates=0, replays=0, updated_at=now
    )
    await conn.execute(sa.insert(gate_ingest).values(**msgspec.structs.asdict(state)))
    return state


async def save_state(conn: Connection, state: IngestState) -> None:
    """Store the gate's new ingest counters."""
    values = values_of(state, gate_ingest, without=("gate",))
    await conn.execute(
        sa.update(gate_ingest).where(gate_ingest.c.gate == state.gate).values(values)
    )


def _settled(gate: str, after: int, before: int | None = None) -> sa.Select[tuple[int]]:
    """Seqs of ``gate`` in (after, before) held by an unflagged event or a refusal, ordered."""
    stored = sa.select(events.c.seq.label("seq")).where(
        events.c.gate == gate, events.c.flag.is_(None), events.c.seq > after
    )
    refused = sa.select(dead_letters.c.seq.label("seq")).where(
        dead_letters.c.gate == gate, dead_letters.c.seq > after
    )
    if before is not None:
        stored = stored.where(events.c.seq < before)
        refused = refused.where(dead_letters.c.seq < before)
    both = sa.union(stored, refused).subquery()  # UNION: a seq stored and refused counts once
    return sa.select(both.c.seq).order_by(both.c.seq)


async def walk_contiguous(conn: Connection, *, gate: str, acked: int) -> int:
    """The highest seq reachable from ``acked`` through settled seqs (stored or refused)."""
    while True:
        query = _settled(gate, acked).limit(WALK_CHUNK)
        seqs = (await conn.scalars(query)).all()
        for seq in seqs:
            if seq != acked + 1:
                return acked
            acked = seq
        if len(seqs) < WALK_CHUNK:
            return acked


async def missing_ranges(
    conn: Connection, *, gate: str, after: int, before: int
) -> list[tuple[int, int]]:
    """Ranges of seqs in (after, before) that no committed event or refusal of ``gate`` holds."""
    ranges: list[tuple[int, int]] = []
    expected = after + 1
    for seq in (await conn.scalars(_settled(gate, after, before))).all():
        if seq > expected:
            ranges.append((expected, seq - 1))
        expected = seq + 1
    if expected < before:
        ranges.append((expected, before - 1))
    return ranges


async def insert_gaps(
    conn: Connection, *, gate: str, ranges: list[tuple[int, int]], now: int
) -> None:
    """Record seqs the gate no longer holds and the server never received."""
    if ranges:
        rows = [{"gate": gate, "from_seq": a, "to_seq": b, "detected_at": now} for a, b in ranges]
        await conn.execute(sa.insert(seq_gaps), rows)


async def gaps(conn: Connection, *, gate: str, limit: int = 20) -> list[SeqGap]:
    """The gate's declared gaps, newest first."""
    query = (
        sa.select(seq_gaps)
        .where(seq_gaps.c.gate == gate)
        .order_by(seq_gaps.c.id.desc())
        .limit(limit)
    )
    return records(SeqGap, await conn.execute(query))


async def committed_above(conn: Connection, *, gate: str, acked: int) -> int:
    """How many events of the gate are committed above its contiguous seq (holes wait below)."""
    query = sa.select(sa.func.count()).where(
        events.c.gate == gate, events.c.flag.is_(None), events.c.seq > acked
    )
    return int(await conn.scalar(query) or 0)


async def dead_letter(
    conn: Connection,
    *,
    topic: str,
    gate: str | None,
    reason: str,
    detail: str,
    payload: bytes,
    now: int,
    seq: int | None = None,
) -> int:
    """Keep a message that cannot be ingested (the first 64 KiB of it); returns its id."""
    result = await conn.execute(
        sa.insert(dead_letters).values(
            received_at=now,
            topic=topic[:256],
            gate=gate,
            reason=reason[:40],
            detail=detail[:500],
            size=len(payload),
            payload=payload[:DEAD_LETTER_KEEP],
            seq=seq,
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


async def refused_already(
    conn: Connection, *, gate: str, seq: int, payload: bytes
) -> tuple[int, bool] | None:
    """The dead letter that holds this very message already (a gate's resend): its id, and
    True if it was kept before its seq was known (it gets the seq now)."""
    query = (
        sa.select(dead_letters.c.id, dead_letters.c.seq)
        .where(
            dead_letters.c.gate == gate,
            sa.or_(dead_letters.c.seq == seq, dead_letters.c.seq.is_(None)),
            dead_letters.c.payload == payload[:DEAD_LETTER_KEEP],
        )
        .order_by(dead_letters.c.seq.is_(None), dead_letters.c.id)
        .limit(1)
    )
    row = (await conn.execute(query)).first()
    if row is None:
        return None
    if row.seq is None:
        await conn.execute(
            sa.update(dead_letters).where(dead_letters.c.id == row.id).values(seq=seq)
        )
    return int(row.id), row.seq is None


async def refusals(conn: Connection, *, gate: str, after: int, upto: int) -> dict[int, str]:
    """The refused seqs of ``gate`` in (after, upto], with their reasons."""
    query = sa.select(dead_letters.c.seq, dead_letters.c.reason).where(
        dead_letters.c.gate == gate, dead_letters.c.seq > after, dead_letters.c.seq <= upto
    )
    return {int(r.seq): str(r.reason) for r in await conn.execute(query)}


async def all_ingest(conn: Connection) -> dict[str, IngestState]:
    """Every gate's ingest counters, by gate."""
    return {r.gate: IngestState(**r._mapping) for r in await conn.execute(sa.select(gate_ingest))}
