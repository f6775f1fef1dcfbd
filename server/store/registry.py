"""SQL for the site, zones, gates and households: create, read, update, delete and search."""

from __future__ import annotations

import sqlalchemy as sa

from server.records import Gate, Household, Site, Zone
from server.store.db import Connection
from server.store.query import (
    PageRequest,
    fetch_page,
    in_scope,
    insert_new,
    like_contains,
    record,
    records,
    values_of,
)
from server.store.schema import gates, households, residents, sites, zones

HOUSEHOLD_SORT = {
    "id": households.c.id,
    "building": households.c.building,
    "label": households.c.label,
    "zone": households.c.zone_id,
}


async def get_site(conn: Connection) -> Site | None:
    """The one site this server runs (None before ``init``)."""
    row = (await conn.execute(sa.select(sites).limit(1))).first()
    return record(Site, row)


async def insert_site(conn: Connection, *, site_id: str, name: str, now: int) -> None:
    """Record the site at ``init``."""
    await conn.execute(sa.insert(sites).values(id=site_id, name=name, created_at=now))


async def list_zones(conn: Connection, *, scope: frozenset[int] | None) -> list[Zone]:
    """Zones visible in ``scope``, by id."""
    query = sa.select(zones).where(in_scope(zones.c.id, scope)).order_by(zones.c.id)
    return records(Zone, await conn.execute(query))


async def get_zone(conn: Connection, *, zone_id: int) -> Zone | None:
    """One zone by id."""
    row = (await conn.execute(sa.select(zones).where(zones.c.id == zone_id))).first()
    return record(Zone, row)


async def find_zone(conn: Connection, *, name: str) -> Zone | None:
    """One zone by its name (imports name zones by name or number)."""
    row = (await conn.execute(sa.select(zones).where(zones.c.name == name))).first()
    return record(Zone, row)


async def insert_zone(conn: Connection, *, zone_id: int, site_id: str, name: str, now: int) -> None:
    """Add a zone with an explicit id (zone numbers are printed into passes)."""
    await conn.execute(
        sa.insert(zones).values(id=zone_id, site_id=site_id, name=name, created_at=now)
    )


async def update_zone(conn: Connection, *, zone_id: int, name: str) -> int:
    """Rename a zone; returns rows changed."""
    result = await conn.execute(sa.update(zones).where(zones.c.id == zone_id).values(name=name))
    return result.rowcount


async def delete_zone(conn: Connection, *, zone_id: int) -> int:
    """Delete an empty zone; returns rows deleted."""
    return (await conn.execute(sa.delete(zones).where(zones.c.id == zone_id))).rowcount


async def zone_in_use(conn: Connection, *, zone_id: int) -> bool:
    """Whether a household or gate still belongs to the zone."""
    for table in (households, gates):
        found = await conn.scalar(sa.select(table.c.id).where(table.c.zone_id == zone_id).limit(1))
        if found is not None:
            return True
    return False


async def list_gates(conn: Connection, *, scope: frozenset[int] | None) -> list[Gate]:
    """Gates (lanes) in ``scope``, by id."""
    query = sa.select(gates).where(in_scope(gates.c.zone_id, scope)).order_by(gates.c.id)
    return records(Gate, await conn.execute(query))


async def get_gate(conn: Connection, *, gate_id: str) -> Gate | None:
    """One gate by id."""
    row = (await conn.execute(sa.select(gates).where(gates.c.id == gate_id))).first()
    return record(Gate, row)


async def insert_gate(conn: Connection, gate: Gate) -> None:
    """Add a gate (lane)."""
    await conn.execute(sa.insert(gates).values(values_of(gate, gates)))


async def save_gate(conn: Connection, gate: Gate) -> None:
    """Write a gate's changed name, zone or direction."""
    values = values_of(gate, gates, without=("id",))
    await conn.execute(sa.update(gates).where(gates.c.id == gate.id).values(values))


async def delete_gate(conn: Connection, *, gate_id: str) -> int:
    """Remove a gate."""
    return (await conn.execute(sa.delete(gates).where(gates.c.id == gate_id))).rowcount


async def search_households(
    conn: Connection,
    *,
    scope: frozenset[int] | None,
    page: PageRequest,
    text: str | None = None,
    building: str | None = None,
    zone_id: int | None = None,
) -> tuple[list[Household], int]:
    """Households matching the filters, one page of them, and the total."""
    query = sa.select(households).where(in_scope(households.c.zone_id, scope))
    if text:
        query = query.where(like_contains(households.c.label, text))
    if building is not None:
        query = query.where(households.c.building == building)
    if zone_id is not None:
        query = query.where(households.c.zone_id == zone_id)
    return await fetch_page(conn, query, page, HOUSEHOLD_SORT, Household)


async def get_household(
    conn: Connection, *, household_id: int, scope: frozenset[int] | None = None
) -> Household | None:
    """One household by id, if it is in ``scope``."""
    query = sa.select(households).where(
        households.c.id == household_id, in_scope(households.c.zone_id, scope)
    )
    row = (await conn.execute(query)).first()
    return record(Household, row)


async def households_by_address(
    conn: Connection,
) -> dict[tuple[str, str, str], Household]:
    """Every household keyed by (building, unit, room): the import's stable key."""
    rows = (await conn.execute(sa.select(households))).all()
    return {(r.building, r.unit, r.room): Household(**r._mapping) for r in rows}


async def insert_household(
    conn: Connection, *, zone_id: int, building: str, unit: str, room: str, label: str, now: int
) -> Household:
    """Add a household; its id is the household number printed into passes."""
    fields = Household(
        id=0,
        zone_id=zone_id,
        building=building,
        unit=unit,
        room=room,
        label=label,
        hold_until=None,
        created_at=now,
        updated_at=now,
    )
    return await insert_new(conn, households, fields)


async def save_household(conn: Connection, household: Household) -> None:
    """Write a household's changed fields."""
    values = values_of(household, households, without=("id",))
    query = sa.update(households).where(households.c.id == household.id).values(values)
    await conn.execute(query)


async def delete_household(conn: Connection, *, household_id: int) -> int:
    """Delete a household that has no residents left."""
    query = sa.delete(households).where(households.c.id == household_id)
    return (await conn.execute(query)).rowcount


async def household_has_residents(conn: Connection, *, household_id: int) -> bool:
    """Whether anyone still lives in the household."""
    query = sa.select(residents.c.id).where(residents.c.household_id == household_id).limit(1)
    return (await conn.scalar(query)) is not None
