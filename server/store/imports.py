"""SQL of the register import: what each import wrote per resident (its baseline), the keyed
fingerprints of erased residents, and the registry as one import sees it (tables of 0103)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from server.records import Household, ImportBaseline, Resident
from server.store.db import Connection
from server.store.query import records
from server.store.schema import erased_fingerprints, households, import_baselines, residents

CHUNK = 2000  # rows a statement: bounded work between the event loop's turns


async def all_households(conn: Connection) -> list[Household]:
    """Every household (an import matches rows to them by address)."""
    return records(Household, await conn.execute(sa.select(households)))


async def all_residents(conn: Connection) -> list[Resident]:
    """Every resident with their household's zone and label, moved-out ones included."""
    joined = residents.join(households, residents.c.household_id == households.c.id)
    query = sa.select(*residents.c, households.c.zone_id, households.c.label).select_from(joined)
    return records(Resident, await conn.execute(query))


async def baselines(conn: Connection) -> dict[int, ImportBaseline]:
    """What the last import wrote, by resident id."""
    rows = records(ImportBaseline, await conn.execute(sa.select(import_baselines)))
    return {b.resident_id: b for b in rows}


async def put_baselines(conn: Connection, rows: list[ImportBaseline]) -> None:
    """Insert or replace the baselines of these residents."""
    if not rows:
        return
    ids = [r.resident_id for r in rows]
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        await conn.execute(
            sa.delete(import_baselines).where(import_baselines.c.resident_id.in_(chunk))
        )
    values: list[dict[str, Any]] = [
        {f: getattr(r, f) for f in ImportBaseline.__struct_fields__} for r in rows
    ]
    for start in range(0, len(values), CHUNK):
        await conn.execute(sa.insert(import_baselines), values[start : start + CHUNK])


async def erased(conn: Connection) -> set[str]:
    """Every fingerprint of an erased resident."""
    return set((await conn.scalars(sa.select(erased_fingerprints.c.fingerprint))).all())


async def add_erased(conn: Connection, *, fingerprint: str, at: int) -> None:
    """Remember an erased resident's fingerprint (once)."""
    exists = sa.select(erased_fingerprints.c.fingerprint).where(
        erased_fingerprints.c.fingerprint == fingerprint
    )
    if await conn.scalar(exists) is None:
        await conn.execute(sa.insert(erased_fingerprints).values(fingerprint=fingerprint, at=at))


async def forget_erased(conn: Connection, *, fingerprints: list[str]) -> None:
    """Drop fingerprints of people the operator chose to register again."""
    if fingerprints:
        query = sa.delete(erased_fingerprints).where(
            erased_fingerprints.c.fingerprint.in_(fingerprints)
        )
        await conn.execute(query)


async def insert_residents(
    conn: Connection, values: list[dict[str, Any]]
) -> dict[tuple[int, str, str | None], int]:
    """Insert new residents (a chunk a statement); their ids by (household, name, phone), which the
    import keeps unique among the people it adds (one writer: every id above the old maximum is
    one of them)."""
    if not values:
        return {}
    before = await conn.scalar(sa.select(sa.func.max(residents.c.id))) or 0
    for start in range(0, len(values), CHUNK):  # the event loop gets a turn between chunks
        await conn.execute(sa.insert(residents), values[start : start + CHUNK])
    query = sa.select(
        residents.c.id, residents.c.household_id, residents.c.name, residents.c.phone
    ).where(residents.c.id > before)
    return {(r.household_id, r.name, r.phone): r.id for r in await conn.execute(query)}


async def insert_households(conn: Connection, values: list[dict[str, Any]]) -> None:
    """Insert new households, a chunk a statement."""
    for start in range(0, len(values), CHUNK):
        await conn.execute(sa.insert(households), values[start : start + CHUNK])
