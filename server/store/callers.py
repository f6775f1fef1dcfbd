"""SQL for follow-up callers (migration 0105) and the audit rows of their list views.

A caller's zones are rows of ``followup_callers``; whether a caller has stated today's purpose
is read back from the append-only audit log (action ``followup.view``), so the audit row is the
only record of it.
"""

from __future__ import annotations

import sqlalchemy as sa

from server.store.db import Connection
from server.store.schema import audit_log, followup_callers

VIEW_ACTION = "followup.view"


async def caller_zones(conn: Connection, *, staff_id: int) -> frozenset[int]:
    """The zones in which account ``staff_id`` is a follow-up caller."""
    query = sa.select(followup_callers.c.zone_id).where(followup_callers.c.staff_id == staff_id)
    return frozenset(int(z) for z in (await conn.execute(query)).scalars())


async def set_caller_zones(
    conn: Connection, *, staff_id: int, zones: list[int], now: int, by: str
) -> None:
    """Replace the account's caller zones with ``zones`` (empty: not a caller)."""
    await conn.execute(sa.delete(followup_callers).where(followup_callers.c.staff_id == staff_id))
    if zones:
        rows = [
            {"staff_id": staff_id, "zone_id": z, "granted_at": now, "granted_by": by} for z in zones
        ]
        await conn.execute(sa.insert(followup_callers), rows)


async def view_purpose_since(conn: Connection, *, actor: str, since: int) -> str | None:
    """The purpose ``actor`` stated for viewing the call list at or after ``since``, if any."""
    query = (
        sa.select(audit_log.c.detail)
        .where(
            audit_log.c.action == VIEW_ACTION,
            audit_log.c.actor == actor,
            audit_log.c.at >= since,
        )
        .order_by(audit_log.c.id.desc())
        .limit(1)
    )
    detail = (await conn.execute(query)).scalar()
    if not isinstance(detail, dict):
        return None
    purpose = detail.get("purpose")
    return purpose if isinstance(purpose, str) else None
