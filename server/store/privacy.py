"""SQL for data-subject rights and the retention job (PIPL art. 19, 45, 47; D-02, D-04, D-05)."""

from __future__ import annotations

import sqlalchemy as sa

from server.records import DeletionReceipt, Event, HeldPass
from server.store.db import Connection
from server.store.query import insert_new, records
from server.store.schema import deletion_receipts, events, passes, residents, visitors


async def passes_of(conn: Connection, *, resident_id: int) -> list[HeldPass]:
    """Every pass a resident ever held (for export), without the pass text."""
    columns = [c for c in passes.c if c.name not in {"text", "pass_id"}]
    query = sa.select(*columns).where(passes.c.resident_id == resident_id).order_by(passes.c.id)
    return records(HeldPass, await conn.execute(query))


async def events_of(conn: Connection, *, refs: list[str], limit: int) -> list[Event]:
    """Gate events of the given pass refs, newest first, at most ``limit``."""
    if not refs:
        return []
    query = (
        sa.select(events)
        .where(events.c.pass_ref.in_(refs))
        .order_by(events.c.at_ms.desc())
        .limit(limit)
    )
    return records(Event, await conn.execute(query))


async def insert_receipt(
    conn: Connection, *, at: int, subject: str, actor: str, passes_revoked: int
) -> DeletionReceipt:
    """Record that a person's data was erased (pseudonymous subject, no name)."""
    fields = DeletionReceipt(
        id=0, at=at, subject=subject, actor=actor, passes_revoked=passes_revoked
    )
    return await insert_new(conn, deletion_receipts, fields)


async def clear_event_health(conn: Connection, *, before_ms: int) -> int:
    """Drop temperatures from events older than ``before_ms``; the decisions stay."""
    query = (
        sa.update(events)
        .where(
            events.c.at_ms < before_ms,
            sa.or_(events.c.body_c.is_not(None), events.c.temperatures.is_not(None)),
        )
        .values(body_c=None, temperatures=sa.null())  # SQL NULL, not JSON null
    )
    return (await conn.execute(query)).rowcount


async def delete_events(conn: Connection, *, before_ms: int) -> int:
    """Delete gate events older than ``before_ms`` (whereabouts are personal data)."""
    return (await conn.execute(sa.delete(events).where(events.c.at_ms < before_ms))).rowcount


async def clear_ended_observations(conn: Connection, *, ended_before: int, now: int) -> int:
    """Anonymise home-observation records that ended before ``ended_before``."""
    query = (
        sa.update(residents)
        .where(residents.c.observation_end.is_not(None), residents.c.observation_end < ended_before)
        .values(status="normal", observation_start=None, observation_end=None, updated_at=now)
    )
    return (await conn.execute(query)).rowcount


async def expired_visitors(conn: Connection, *, before: int) -> list[int]:
    """Visitors whose registration ended before ``before``."""
    query = sa.select(visitors.c.id).where(visitors.c.valid_until < before)
    return list((await conn.scalars(query)).all())


async def delete_visitors(conn: Connection, *, ids: list[int]) -> int:
    """Delete visitor rows (their passes were detached first)."""
    if not ids:
        return 0
    return (await conn.execute(sa.delete(visitors).where(visitors.c.id.in_(ids)))).rowcount


async def detach_visitor_passes(conn: Connection, *, ids: list[int]) -> int:
    """Forget which visitor held which pass and drop the pass text."""
    if not ids:
        return 0
    query = sa.update(passes).where(passes.c.visitor_id.in_(ids)).values(visitor_id=None, text=None)
    return (await conn.execute(query)).rowcount
