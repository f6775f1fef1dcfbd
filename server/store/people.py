"""SQL for residents and visitors: the personal data of the registry."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from server.records import Observation, Resident, ResidentData, Visitor
from server.store.db import Connection
from server.store.query import (
    PageRequest,
    fetch_page,
    in_scope,
    like_contains,
    record,
    records,
    values_of,
)
from server.store.schema import households, residents, visitors

RESIDENT_SORT = {
    "id": residents.c.id,
    "name": residents.c.name,
    "household": residents.c.household_id,
    "status": residents.c.status,
    "updated": residents.c.updated_at,
}
VISITOR_SORT = {
    "id": visitors.c.id,
    "valid_until": visitors.c.valid_until,
    "name": visitors.c.name,
}
_RESIDENT_COLUMNS = (*residents.c, households.c.zone_id, households.c.label)


def _residents_in_scope(scope: frozenset[int] | None) -> sa.Select[Any]:
    joined = residents.join(households, residents.c.household_id == households.c.id)
    return (
        sa.select(*_RESIDENT_COLUMNS)
        .select_from(joined)
        .where(in_scope(households.c.zone_id, scope))
    )


async def search_residents(
    conn: Connection,
    *,
    scope: frozenset[int] | None,
    page: PageRequest,
    text: str | None = None,
    household_id: int | None = None,
    status: str | None = None,
    phone: str | None = None,
) -> tuple[list[Resident], int]:
    """Residents matching the filters (name contains ``text``; exact E.164 ``phone``)."""
    query = _residents_in_scope(scope)
    if text:
        query = query.where(like_contains(residents.c.name, text))
    if household_id is not None:
        query = query.where(residents.c.household_id == household_id)
    if status is not None:
        query = query.where(residents.c.status == status)
    if phone is not None:
        query = query.where(residents.c.phone == phone)
    return await fetch_page(conn, query, page, RESIDENT_SORT, Resident)


async def get_resident(
    conn: Connection, *, resident_id: int, scope: frozenset[int] | None = None
) -> Resident | None:
    """One resident with the household's zone and label, if in ``scope``."""
    query = _residents_in_scope(scope).where(residents.c.id == resident_id)
    row = (await conn.execute(query)).first()
    return record(Resident, row)


async def residents_of(conn: Connection, *, household_ids: list[int]) -> list[Resident]:
    """Every resident of the given households (bulk pass issue), by household then id."""
    query = _residents_in_scope(None).where(residents.c.household_id.in_(household_ids))
    query = query.order_by(residents.c.household_id, residents.c.id)
    return records(Resident, await conn.execute(query))


async def resident_keys(conn: Connection) -> dict[tuple[int, str], Resident]:
    """Every resident keyed by (household id, name): the import's stable key."""
    rows = records(Resident, await conn.execute(_residents_in_scope(None)))
    return {(r.household_id, r.name): r for r in rows}


async def insert_resident(conn: Connection, data: ResidentData) -> int:
    """Add a resident; returns the id."""
    result = await conn.execute(
        sa.insert(residents).values(values_of(data, residents, without=("id",)))
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


async def insert_residents(conn: Connection, rows: list[ResidentData]) -> None:
    """Add many residents in one statement (imports)."""
    if rows:
        values = [values_of(r, residents, without=("id",)) for r in rows]
        await conn.execute(sa.insert(residents), values)


async def save_resident(conn: Connection, resident_id: int, data: ResidentData) -> int:
    """Write a resident's changed fields; returns rows changed (0: no such resident)."""
    values = values_of(data, residents, without=("id",))
    query = sa.update(residents).where(residents.c.id == resident_id).values(values)
    return (await conn.execute(query)).rowcount


async def delete_resident(conn: Connection, *, resident_id: int) -> int:
    """Remove a resident's row (erasure; passes were detached and revoked first)."""
    return (await conn.execute(sa.delete(residents).where(residents.c.id == resident_id))).rowcount


async def under_observation(conn: Connection, *, now: int) -> list[Observation]:
    """Residents whose home observation is running at ``now`` (id, household, end)."""
    query = sa.select(residents.c.id, residents.c.household_id, residents.c.observation_end).where(
        residents.c.status == "home_observation",
        sa.or_(residents.c.observation_end.is_(None), residents.c.observation_end > now),
    )
    return records(Observation, await conn.execute(query))


async def insert_visitor(
    conn: Connection,
    *,
    host_household_id: int,
    name: str,
    phone: str,
    purpose: str,
    valid_from: int,
    valid_until: int,
    registered_by: int | None,
    now: int,
) -> int:
    """Register a visitor; returns the id."""
    values = {
        "host_household_id": host_household_id,
        "name": name,
        "phone": phone,
        "purpose": purpose,
        "valid_from": valid_from,
        "valid_until": valid_until,
        "registered_by": registered_by,
        "created_at": now,
    }
    result = await conn.execute(sa.insert(visitors).values(values))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def _visitors_in_scope(scope: frozenset[int] | None) -> sa.Select[Any]:
    joined = visitors.join(households, visitors.c.host_household_id == households.c.id)
    columns = (*visitors.c, households.c.zone_id, households.c.label)
    return sa.select(*columns).select_from(joined).where(in_scope(households.c.zone_id, scope))


async def get_visitor(
    conn: Connection, *, visitor_id: int, scope: frozenset[int] | None = None
) -> Visitor | None:
    """One visitor with the host household's zone and label, if in ``scope``."""
    row = (await conn.execute(_visitors_in_scope(scope).where(visitors.c.id == visitor_id))).first()
    return record(Visitor, row)


async def search_visitors(
    conn: Connection,
    *,
    scope: frozenset[int] | None,
    page: PageRequest,
    host_household_id: int | None = None,
    text: str | None = None,
) -> tuple[list[Visitor], int]:
    """Visitors in ``scope``, optionally for one host household or by name."""
    query = _visitors_in_scope(scope)
    if host_household_id is not None:
        query = query.where(visitors.c.host_household_id == host_household_id)
    if text:
        query = query.where(like_contains(visitors.c.name, text))
    return await fetch_page(conn, query, page, VISITOR_SORT, Visitor)
