"""SQL for reading what ingest stored: gate events (zone-scoped) and dead letters."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from server.records import DeadLetter, Event
from server.store.db import Connection
from server.store.query import PageRequest, fetch_page, record
from server.store.schema import events, gates
from server.store.schema_gates import dead_letters

EVENT_SORT = {"id": events.c.id, "at_ms": events.c.at_ms, "seq": events.c.seq}
DEAD_SORT = {"id": dead_letters.c.id, "received_at": dead_letters.c.received_at}
EVENT_FILTERS = ("gate", "kind", "granted", "reason", "pass_ref", "alarm", "flag", "offline")


def gates_in(scope: frozenset[int] | None) -> sa.ColumnElement[bool]:
    """Events of gates in the zones (None: every gate, also removed ones)."""
    if scope is None:
        return sa.true()
    return events.c.gate.in_(sa.select(gates.c.id).where(gates.c.zone_id.in_(sorted(scope))))


async def search_events(
    conn: Connection,
    *,
    scope: frozenset[int] | None,
    page: PageRequest,
    filters: dict[str, Any],
    since_ms: int | None = None,
    until_ms: int | None = None,
) -> tuple[list[Event], int]:
    """Events in scope matching equality ``filters`` and a time window, one page."""
    query = sa.select(events).where(gates_in(scope))
    for name, value in filters.items():
        query = query.where(events.c[name] == value)
    if since_ms is not None:
        query = query.where(events.c.at_ms >= since_ms)
    if until_ms is not None:
        query = query.where(events.c.at_ms < until_ms)
    return await fetch_page(conn, query, page, EVENT_SORT, Event)


async def search_dead_letters(
    conn: Connection, *, page: PageRequest, reason: str | None = None, gate: str | None = None
) -> tuple[list[DeadLetter], int]:
    """Dead letters without their payload, one page."""
    query = sa.select(*(c for c in dead_letters.c if c.name != "payload"))
    if reason is not None:
        query = query.where(dead_letters.c.reason == reason)
    if gate is not None:
        query = query.where(dead_letters.c.gate == gate)
    return await fetch_page(conn, query, page, DEAD_SORT, DeadLetter)


async def get_dead_letter(conn: Connection, *, letter_id: int) -> DeadLetter | None:
    """One dead letter with its payload."""
    row = (
        await conn.execute(sa.select(dead_letters).where(dead_letters.c.id == letter_id))
    ).first()
    return record(DeadLetter, row)


async def count_events(conn: Connection, *, gate: str | None = None) -> int:
    """How many events are stored (of one gate)."""
    query = sa.select(sa.func.count()).select_from(events)
    if gate is not None:
        query = query.where(events.c.gate == gate)
    return int(await conn.scalar(query) or 0)
