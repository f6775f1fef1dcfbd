"""SQL for passes, household cutoffs, holds, locks and the revocation sequence number."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from server.records import (
    HouseholdCutoff,
    HouseholdHold,
    Pass,
    PassHolder,
    PassLock,
    PrintablePass,
    UnitPlace,
)
from server.store.db import Connection
from server.store.query import PageRequest, fetch_page, in_scope, insert_new, record, records
from server.store.schema import (
    card_pins,
    counters,
    household_cutoffs,
    households,
    pass_locks,
    passes,
    residents,
    staff,
    visitors,
)

PASS_SORT = {
    "id": passes.c.id,
    "issued_at": passes.c.issued_at,
    "expires": passes.c.expires,
    "kind": passes.c.kind,
}
REVOCATION_SEQ = "revocation_seq"


def _zone_of_pass() -> sa.ColumnElement[Any]:
    """A pass's zone for scoping: the first zone it names (JSON array element 0)."""
    element: sa.ColumnElement[Any] = passes.c.zones[0].as_integer()
    return element


async def insert_pass(conn: Connection, issued: Pass) -> Pass:
    """Record an issued pass (its ``id`` is the database's); returns it with that id."""
    return await insert_new(conn, passes, issued)


async def get_pass(
    conn: Connection, *, pass_row: int, scope: frozenset[int] | None = None
) -> Pass | None:
    """One pass by row id, if in ``scope``."""
    query = sa.select(passes).where(passes.c.id == pass_row, in_scope(_zone_of_pass(), scope))
    row = (await conn.execute(query)).first()
    return record(Pass, row)


async def search_passes(
    conn: Connection,
    *,
    scope: frozenset[int] | None,
    page: PageRequest,
    filters: dict[str, Any],
    active_at: int | None = None,
) -> tuple[list[Pass], int]:
    """Passes matching equality ``filters`` (resident_id, household_id, ...), one page."""
    query = sa.select(passes).where(in_scope(_zone_of_pass(), scope))
    for name, value in filters.items():
        query = query.where(passes.c[name] == value)
    if active_at is not None:
        query = query.where(passes.c.revoked_at.is_(None), passes.c.expires > active_at)
    return await fetch_page(conn, query, page, PASS_SORT, Pass)


async def active_passes(conn: Connection, *, now: int, **where: Any) -> list[Pass]:
    """Unrevoked, unexpired passes with the given column values (e.g. resident_id=3)."""
    query = sa.select(passes).where(passes.c.revoked_at.is_(None), passes.c.expires > now)
    for name, value in where.items():
        query = query.where(passes.c[name] == value)
    return records(Pass, await conn.execute(query.order_by(passes.c.id)))


async def revoke(conn: Connection, *, pass_rows: list[int], at: int, by: str, reason: str) -> int:
    """Mark passes revoked (already revoked ones keep their first revocation)."""
    query = (
        sa.update(passes)
        .where(passes.c.id.in_(pass_rows), passes.c.revoked_at.is_(None))
        .values(revoked_at=at, revoked_by=by, revoke_reason=reason)
    )
    return (await conn.execute(query)).rowcount


async def detach_holder(conn: Connection, *, column: str, holder_id: int) -> int:
    """Forget who held passes (erasure): the ref and expiry stay for the revocation list."""
    query = (
        sa.update(passes).where(passes.c[column] == holder_id).values({column: None, "text": None})
    )
    changed = (await conn.execute(query)).rowcount
    if column == "resident_id":  # their card PINs: neither the link nor an unprinted PIN stays
        pins = sa.update(card_pins).where(card_pins.c.resident_id == holder_id)
        await conn.execute(pins.values(resident_id=None, pending=None))
    return changed


async def revoked_refs(conn: Connection, *, now: int) -> list[str]:
    """Refs of revoked passes that have not expired yet (expired ones are pruned from lists)."""
    query = sa.select(passes.c.ref).where(passes.c.revoked_at.is_not(None), passes.c.expires > now)
    return list((await conn.scalars(query)).all())


async def refs_of_residents(
    conn: Connection, *, resident_ids: list[int], now: int
) -> list[PassHolder]:
    """Active pass refs of the given residents (for observation holds)."""
    query = sa.select(passes.c.ref, passes.c.resident_id).where(
        passes.c.resident_id.in_(resident_ids),
        passes.c.revoked_at.is_(None),
        passes.c.expires > now,
    )
    return records(PassHolder, await conn.execute(query))


async def set_cutoff(conn: Connection, *, household_id: int, at: int, reason: str) -> None:
    """Cut a household off at ``at``: every pass issued before it is dead."""
    await conn.execute(
        sa.delete(household_cutoffs).where(household_cutoffs.c.household_id == household_id)
    )
    await conn.execute(
        sa.insert(household_cutoffs).values(household_id=household_id, at=at, reason=reason)
    )


async def cutoffs(conn: Connection) -> list[HouseholdCutoff]:
    """Every household cutoff."""
    return records(HouseholdCutoff, await conn.execute(sa.select(household_cutoffs)))


async def household_holds(conn: Connection, *, now: int) -> list[HouseholdHold]:
    """Households under home observation at ``now`` and until when."""
    query = sa.select(households.c.id, households.c.hold_until).where(
        households.c.hold_until.is_not(None), households.c.hold_until > now
    )
    return records(HouseholdHold, await conn.execute(query))


async def get_pass_by_ref(
    conn: Connection, *, ref: str, scope: frozenset[int] | None = None
) -> Pass | None:
    """One pass by its 16-hex ref, if in ``scope``."""
    query = sa.select(passes).where(passes.c.ref == ref, in_scope(_zone_of_pass(), scope))
    return record(Pass, (await conn.execute(query)).first())


async def active_lock(conn: Connection, *, ref: str) -> PassLock | None:
    """The lock holding ``ref`` now, if any."""
    query = sa.select(pass_locks).where(pass_locks.c.ref == ref, pass_locks.c.cleared_at.is_(None))
    return record(PassLock, (await conn.execute(query.order_by(pass_locks.c.id))).first())


async def last_unlock(conn: Connection, *, ref: str) -> PassLock | None:
    """The most recently cleared lock of ``ref``, if any."""
    query = (
        sa.select(pass_locks)
        .where(pass_locks.c.ref == ref, pass_locks.c.cleared_at.is_not(None))
        .order_by(pass_locks.c.cleared_at.desc(), pass_locks.c.id.desc())
    )
    return record(PassLock, (await conn.execute(query)).first())


async def insert_lock(conn: Connection, lock: PassLock) -> PassLock:
    """Record a lock a gate reported (its ``id`` is the database's)."""
    return await insert_new(conn, pass_locks, lock)


async def locks_recorded_by(conn: Connection, *, gate: str, since: int) -> int:
    """How many locks ``gate``'s reports placed at or after ``since`` (cleared ones count)."""
    query = sa.select(sa.func.count()).where(
        pass_locks.c.gate == gate, pass_locks.c.recorded_at >= since
    )
    return int((await conn.execute(query)).scalar_one())


async def clear_lock(conn: Connection, *, lock_id: int, at: int, by: str, note: str | None) -> int:
    """Clear an active lock (an already cleared one stays as it was); rows changed."""
    query = (
        sa.update(pass_locks)
        .where(pass_locks.c.id == lock_id, pass_locks.c.cleared_at.is_(None))
        .values(cleared_at=at, cleared_by=by, clear_note=note)
    )
    return (await conn.execute(query)).rowcount


async def active_locks(
    conn: Connection, *, now: int, scope: frozenset[int] | None = None
) -> list[PassLock]:
    """Locks holding unexpired passes in ``scope``, oldest first."""
    query = (
        sa.select(pass_locks)
        .join(passes, passes.c.ref == pass_locks.c.ref)
        .where(
            pass_locks.c.cleared_at.is_(None),
            passes.c.expires > now,
            in_scope(_zone_of_pass(), scope),
        )
        .order_by(pass_locks.c.locked_at, pass_locks.c.id)
    )
    return records(PassLock, await conn.execute(query))


async def cleared_locks(conn: Connection, *, since: int, now: int) -> list[PassLock]:
    """Locks of unexpired passes cleared at or after ``since``."""
    query = (
        sa.select(pass_locks)
        .join(passes, passes.c.ref == pass_locks.c.ref)
        .where(pass_locks.c.cleared_at >= since, passes.c.expires > now)
    )
    return records(PassLock, await conn.execute(query))


async def bump_counter(conn: Connection, *, name: str) -> int:
    """Increment a named counter inside the write transaction; returns the new value."""
    current = await conn.scalar(sa.select(counters.c.value).where(counters.c.name == name))
    if current is None:
        await conn.execute(sa.insert(counters).values(name=name, value=1))
        return 1
    await conn.execute(sa.update(counters).where(counters.c.name == name).values(value=current + 1))
    return int(current) + 1


async def read_counter(conn: Connection, *, name: str) -> int:
    """A named counter's value (0 if never bumped)."""
    value = await conn.scalar(sa.select(counters.c.value).where(counters.c.name == name))
    return int(value or 0)


async def count_by_kid(conn: Connection, *, kid: str, now: int) -> int:
    """How many live passes a key signed (to report what a key retirement kills)."""
    query = sa.select(sa.func.count()).where(
        passes.c.kid == kid, passes.c.revoked_at.is_(None), passes.c.expires > now
    )
    return int(await conn.scalar(query) or 0)


async def latest_expiry_by_kid(conn: Connection, *, kid: str) -> int | None:
    """The latest expiry among passes a key signed (its verify_until must cover it)."""
    value = await conn.scalar(sa.select(sa.func.max(passes.c.expires)).where(passes.c.kid == kid))
    return None if value is None else int(value)


async def printable(
    conn: Connection,
    *,
    scope: frozenset[int] | None,
    now: int,
    pass_rows: list[int] | None = None,
    household_ids: list[int] | None = None,
    building: str | None = None,
    unit: str | None = None,
    zone_id: int | None = None,
    residents_only: bool = False,
) -> list[PrintablePass]:
    """Live passes with their holder's name and unit label (building, unit and room too),
    ordered for printing; ``residents_only`` keeps the passes of a household's members."""
    holder_name = sa.func.coalesce(residents.c.name, visitors.c.name, staff.c.display_name)
    joined = (
        passes.outerjoin(residents, passes.c.resident_id == residents.c.id)
        .outerjoin(visitors, passes.c.visitor_id == visitors.c.id)
        .outerjoin(staff, passes.c.staff_id == staff.c.id)
        .outerjoin(households, passes.c.household_id == households.c.id)
    )
    query = (
        sa.select(
            *passes.c,
            holder_name.label("holder_name"),
            households.c.label,
            households.c.building,
            households.c.unit,
            households.c.room,
        )
        .select_from(joined)
        .where(
            in_scope(_zone_of_pass(), scope),
            passes.c.revoked_at.is_(None),
            passes.c.expires > now,
            passes.c.text.is_not(None),
        )
    )
    if pass_rows is not None:
        query = query.where(passes.c.id.in_(pass_rows))
    if household_ids is not None:
        query = query.where(passes.c.household_id.in_(household_ids))
    if building is not None:
        query = query.where(households.c.building == building)
    if unit is not None:
        query = query.where(households.c.unit == unit)
    if zone_id is not None:
        query = query.where(households.c.zone_id == zone_id)
    if residents_only:
        query = query.where(passes.c.resident_id.is_not(None), households.c.id.is_not(None))
    order = (households.c.building, households.c.unit, households.c.room, passes.c.id)
    return records(PrintablePass, await conn.execute(query.order_by(*order)))


async def unit_places(conn: Connection, *, scope: frozenset[int] | None) -> list[UnitPlace]:
    """Every (zone, building, unit) that has a household in ``scope``."""
    query = (
        sa.select(households.c.zone_id, households.c.building, households.c.unit)
        .where(in_scope(households.c.zone_id, scope))
        .distinct()
    )
    return records(UnitPlace, await conn.execute(query))
