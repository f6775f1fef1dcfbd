"""SQL for home-observation follow-up calls (table created by migration 0100).

The call list joins residents under observation (their own status, or their household's hold)
with their latest call; everything is scoped by the household's zone like the rest of the
registry.
"""

from __future__ import annotations

import sqlalchemy as sa

from server.records import FollowupCall, ObservedResident
from server.store.db import Connection
from server.store.query import in_scope, insert_new, records
from server.store.schema import followup_calls, households, residents


def _observed(now: int) -> sa.ColumnElement[bool]:
    own = sa.and_(
        residents.c.status == "home_observation",
        sa.or_(residents.c.observation_end.is_(None), residents.c.observation_end > now),
    )
    return sa.or_(own, households.c.hold_until > now)


async def observed_residents(
    conn: Connection, *, scope: frozenset[int] | None, now: int
) -> list[ObservedResident]:
    """Residents under home observation at ``now`` in ``scope``, with their household."""
    query = (
        sa.select(
            residents.c.id,
            residents.c.name,
            residents.c.phone,
            residents.c.household_id,
            residents.c.status,
            residents.c.observation_start,
            residents.c.observation_end,
            households.c.label,
            households.c.zone_id,
            households.c.hold_until,
        )
        .select_from(residents.join(households, residents.c.household_id == households.c.id))
        .where(_observed(now), in_scope(households.c.zone_id, scope))
        .order_by(households.c.building, households.c.unit, households.c.room, residents.c.id)
    )
    return records(ObservedResident, await conn.execute(query))


async def calls_since(
    conn: Connection, *, resident_ids: list[int], since: int
) -> list[FollowupCall]:
    """Calls to these residents at or after ``since``, newest first."""
    if not resident_ids:
        return []
    query = (
        sa.select(followup_calls)
        .where(followup_calls.c.resident_id.in_(resident_ids), followup_calls.c.at >= since)
        .order_by(followup_calls.c.at.desc(), followup_calls.c.id.desc())
    )
    return records(FollowupCall, await conn.execute(query))


async def last_reached(conn: Connection, *, resident_ids: list[int]) -> dict[int, int]:
    """The time of each resident's latest call that reached them."""
    if not resident_ids:
        return {}
    query = (
        sa.select(followup_calls.c.resident_id, sa.func.max(followup_calls.c.at))
        .where(followup_calls.c.resident_id.in_(resident_ids), followup_calls.c.reached.is_(True))
        .group_by(followup_calls.c.resident_id)
    )
    return {int(r[0]): int(r[1]) for r in (await conn.execute(query)).all()}


async def insert_call(
    conn: Connection,
    *,
    resident_id: int,
    at: int,
    caller: str,
    reached: bool,
    temperature_c: float | None,
    symptoms: list[str],
    note: str | None,
) -> FollowupCall:
    """Record one call; returns it."""
    fields = FollowupCall(
        id=0,
        resident_id=resident_id,
        at=at,
        reached=reached,
        temperature_c=temperature_c,
        symptoms=symptoms,
        note=note,
        caller=caller,
    )
    return await insert_new(conn, followup_calls, fields)


async def calls_of(conn: Connection, *, resident_id: int) -> list[FollowupCall]:
    """Every call to one resident (the per-resident export), oldest first."""
    query = (
        sa.select(followup_calls)
        .where(followup_calls.c.resident_id == resident_id)
        .order_by(followup_calls.c.at, followup_calls.c.id)
    )
    return records(FollowupCall, await conn.execute(query))


async def delete_before(conn: Connection, *, before: int) -> int:
    """Delete calls older than ``before`` (the retention job); returns how many."""
    query = sa.delete(followup_calls).where(followup_calls.c.at < before)
    return (await conn.execute(query)).rowcount
