"""SQL for passes by place: the residents of a zone, building or unit, which of them hold a live
pass, and the live passes of a place's households (issue 16 item 5)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa

from server.records import Pass, Resident
from server.store.db import Connection
from server.store.query import in_scope, records, values_of
from server.store.schema import audit_log, households, passes, residents

_CHUNK = 500


@dataclass(frozen=True, slots=True)
class AuditRow:
    """One audit row of a bulk operation (the same columns as server.store.audit.append)."""

    at: int
    actor: str
    action: str
    target: str | None
    address: str | None
    detail: dict[str, Any]


async def insert_passes(conn: Connection, rows: list[Pass]) -> None:
    """Record many issued passes (their ids are the database's), a chunk per statement."""
    for start in range(0, len(rows), _CHUNK):
        chunk = [values_of(r, passes, without=("id",)) for r in rows[start : start + _CHUNK]]
        await conn.execute(sa.insert(passes), chunk)


async def append_audits(conn: Connection, rows: list[AuditRow]) -> None:
    """Append many audit rows inside the caller's transaction."""
    for start in range(0, len(rows), _CHUNK):
        await conn.execute(sa.insert(audit_log), [asdict(r) for r in rows[start : start + _CHUNK]])


def _place(
    query: sa.Select[Any],
    *,
    scope: frozenset[int] | None,
    zone: int | None,
    building: str | None,
    unit: str | None,
) -> sa.Select[Any]:
    query = query.where(in_scope(households.c.zone_id, scope))
    if zone is not None:
        query = query.where(households.c.zone_id == zone)
    if building is not None:
        query = query.where(households.c.building == building)
    if unit is not None:
        query = query.where(households.c.unit == unit)
    return query


async def residents_in_place(
    conn: Connection,
    *,
    scope: frozenset[int] | None,
    zone: int | None = None,
    building: str | None = None,
    unit: str | None = None,
) -> list[Resident]:
    """Every resident of the place's households in ``scope``, by building, unit, room, id."""
    joined = residents.join(households, residents.c.household_id == households.c.id)
    query = sa.select(*residents.c, households.c.zone_id, households.c.label).select_from(joined)
    query = _place(query, scope=scope, zone=zone, building=building, unit=unit)
    order = (households.c.building, households.c.unit, households.c.room, residents.c.id)
    return records(Resident, await conn.execute(query.order_by(*order)))


async def residents_with_live_pass(conn: Connection, *, now: int) -> set[int]:
    """Ids of the residents holding an unrevoked, unexpired pass at ``now``."""
    query = (
        sa.select(passes.c.resident_id)
        .where(
            passes.c.resident_id.is_not(None),
            passes.c.revoked_at.is_(None),
            passes.c.expires > now,
        )
        .distinct()
    )
    return {int(r) for r in (await conn.scalars(query)).all()}


async def live_passes_in_place(
    conn: Connection,
    *,
    now: int,
    scope: frozenset[int] | None,
    zone: int | None = None,
    building: str | None = None,
    unit: str | None = None,
) -> list[Pass]:
    """Unrevoked, unexpired passes (residents' and visitors') of the place's households."""
    joined = passes.join(households, passes.c.household_id == households.c.id)
    query = sa.select(*passes.c).select_from(joined)
    query = query.where(passes.c.revoked_at.is_(None), passes.c.expires > now)
    query = _place(query, scope=scope, zone=zone, building=building, unit=unit)
    return records(Pass, await conn.execute(query.order_by(passes.c.id)))
