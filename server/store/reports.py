"""Read-only SQL for the staff UI's views of gate events: the event log, the live console feed
and the dashboard's counts. Events are scoped through their gate's zone; events of a gate the
registry does not know are visible to unscoped (admin) accounts only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from server.records import EventView
from server.store.db import Connection
from server.store.query import PageRequest, fetch_page, in_scope, record, records
from server.store.schema import (
    events,
    gates,
    households,
    passes,
    residents,
    staff,
    visitors,
)

EVENT_SORT = {"id": events.c.id, "at": events.c.at_ms}
EXPORT_LIMIT = 100_000


@dataclass(frozen=True, slots=True)
class EventFilter:
    """What the event log is filtered by; None means any."""

    gate: str | None = None
    since_ms: int | None = None
    until_ms: int | None = None
    reason: str | None = None
    granted: bool | None = None


def event_views() -> sa.Select[Any]:
    """Events with their lane, and the kind, holder and unit of the pass they name."""
    holder = sa.func.coalesce(residents.c.name, visitors.c.name, staff.c.display_name)
    source = (
        events.outerjoin(gates, events.c.gate == gates.c.id)
        .outerjoin(passes, events.c.pass_ref == passes.c.ref)
        .outerjoin(residents, passes.c.resident_id == residents.c.id)
        .outerjoin(visitors, passes.c.visitor_id == visitors.c.id)
        .outerjoin(staff, passes.c.staff_id == staff.c.id)
        .outerjoin(households, passes.c.household_id == households.c.id)
    )
    return sa.select(
        *events.c,
        gates.c.name.label("gate_name"),
        gates.c.direction,
        gates.c.zone_id,
        passes.c.kind.label("pass_kind"),
        holder.label("holder_name"),
        households.c.label,
    ).select_from(source)


def _scoped(scope: frozenset[int] | None, f: EventFilter) -> sa.Select[Any]:
    query = event_views().where(in_scope(gates.c.zone_id, scope))
    if f.gate is not None:
        query = query.where(events.c.gate == f.gate)
    if f.since_ms is not None:
        query = query.where(events.c.at_ms >= f.since_ms)
    if f.until_ms is not None:
        query = query.where(events.c.at_ms < f.until_ms)
    if f.reason is not None:
        query = query.where(events.c.reason == f.reason)
    if f.granted is not None:
        query = query.where(events.c.granted.is_(f.granted))
    return query


async def search_events(
    conn: Connection, *, scope: frozenset[int] | None, page: PageRequest, where: EventFilter
) -> tuple[list[EventView], int]:
    """One page of events matching the filter, with lane, holder and unit."""
    return await fetch_page(conn, _scoped(scope, where), page, EVENT_SORT, EventView)


async def export_events(
    conn: Connection, *, scope: frozenset[int] | None, where: EventFilter
) -> list[EventView]:
    """Every matching event (up to EXPORT_LIMIT), oldest first, for the CSV export."""
    query = _scoped(scope, where).order_by(events.c.at_ms, events.c.id).limit(EXPORT_LIMIT)
    return records(EventView, await conn.execute(query))


async def events_after(
    conn: Connection,
    *,
    scope: frozenset[int] | None,
    after_id: int,
    gate: str | None,
    limit: int,
) -> list[EventView]:
    """Events stored after row ``after_id`` (the live feed), oldest first."""
    query = _scoped(scope, EventFilter(gate=gate)).where(events.c.id > after_id)
    return records(EventView, await conn.execute(query.order_by(events.c.id).limit(limit)))


async def latest_event_id(conn: Connection) -> int:
    """The newest event row id (0 when there is none)."""
    return int(await conn.scalar(sa.select(sa.func.max(events.c.id))) or 0)


async def last_contact(conn: Connection, *, scope: frozenset[int] | None) -> dict[str, int]:
    """Each gate's newest event time (ms): a later last contact than its status, which a gate
    repeats only once a minute when nothing changes."""
    query = (
        sa.select(events.c.gate, sa.func.max(events.c.at_ms))
        .select_from(events.join(gates, events.c.gate == gates.c.id))
        .where(in_scope(gates.c.zone_id, scope))
        .group_by(events.c.gate)
    )
    return {r[0]: int(r[1]) for r in (await conn.execute(query)).all()}


async def entries_by_hour(
    conn: Connection,
    *,
    scope: frozenset[int] | None,
    since_ms: int,
    until_ms: int,
    offset_ms: int,
) -> dict[int, int]:
    """Granted entries (decisions on entry lanes) per local hour of day in the window."""
    hour = ((events.c.at_ms + offset_ms) // 3_600_000) % 24
    query = (
        sa.select(hour.label("hour"), sa.func.count())
        .select_from(events.join(gates, events.c.gate == gates.c.id))
        .where(
            in_scope(gates.c.zone_id, scope),
            gates.c.direction == "in",
            events.c.kind == "decision",
            events.c.granted.is_(True),
            events.c.at_ms >= since_ms,
            events.c.at_ms < until_ms,
        )
        .group_by(hour)
    )
    return {int(r[0]): int(r[1]) for r in (await conn.execute(query)).all()}


async def temperatures(
    conn: Connection, *, scope: frozenset[int] | None, since_ms: int
) -> list[float]:
    """Body temperatures recorded since ``since_ms`` (the dashboard's distribution)."""
    query = (
        sa.select(events.c.body_c)
        .select_from(events.join(gates, events.c.gate == gates.c.id))
        .where(
            in_scope(gates.c.zone_id, scope),
            events.c.at_ms >= since_ms,
            events.c.body_c.is_not(None),
        )
    )
    return [float(r[0]) for r in (await conn.execute(query)).all()]


async def inside_by_zone(conn: Connection, *, scope: frozenset[int] | None) -> dict[int, int]:
    """People inside per zone: passes whose latest granted passage there was an entry."""
    ranked = (
        sa.select(
            gates.c.zone_id,
            gates.c.direction,
            sa.func.row_number()
            .over(
                partition_by=(gates.c.zone_id, events.c.pass_ref),
                order_by=(events.c.at_ms.desc(), events.c.id.desc()),
            )
            .label("rank"),
        )
        .select_from(events.join(gates, events.c.gate == gates.c.id))
        .where(
            in_scope(gates.c.zone_id, scope),
            events.c.kind == "decision",
            events.c.granted.is_(True),
            events.c.pass_ref.is_not(None),
        )
        .subquery()
    )
    query = (
        sa.select(ranked.c.zone_id, sa.func.count())
        .where(ranked.c.rank == 1, ranked.c.direction == "in")
        .group_by(ranked.c.zone_id)
    )
    return {int(r[0]): int(r[1]) for r in (await conn.execute(query)).all()}


async def event_in_scope(
    conn: Connection, *, scope: frozenset[int] | None, event_row: int
) -> EventView | None:
    """One event row, if its gate is in ``scope``."""
    row = (
        await conn.execute(_scoped(scope, EventFilter()).where(events.c.id == event_row))
    ).first()
    return record(EventView, row)


async def event_by_event_id(
    conn: Connection, *, scope: frozenset[int] | None, event_id: str
) -> EventView | None:
    """One event by its gate-assigned id, if its gate is in ``scope``."""
    query = _scoped(scope, EventFilter()).where(events.c.event_id == event_id)
    row = (await conn.execute(query)).first()
    return record(EventView, row)
