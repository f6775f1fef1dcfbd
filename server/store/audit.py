"""SQL for the append-only audit log (the database refuses UPDATE and DELETE on it)."""

from __future__ import annotations

import sqlalchemy as sa

from server.records import AuditEntry, JSONObject
from server.store.db import Connection
from server.store.query import PageRequest, fetch_page
from server.store.schema import audit_log

AUDIT_SORT = {"id": audit_log.c.id, "at": audit_log.c.at, "action": audit_log.c.action}


async def append(
    conn: Connection,
    *,
    at: int,
    actor: str,
    action: str,
    target: str | None,
    address: str | None,
    detail: JSONObject,
) -> None:
    """Add one audit row inside the caller's transaction, so it commits with the change."""
    await conn.execute(
        sa.insert(audit_log).values(
            at=at, actor=actor, action=action, target=target, address=address, detail=detail
        )
    )


async def search(
    conn: Connection,
    *,
    page: PageRequest,
    action: str | None = None,
    actor: str | None = None,
    since: int | None = None,
) -> tuple[list[AuditEntry], int]:
    """Audit rows matching the filters, one page."""
    query = sa.select(audit_log)
    if action is not None:
        query = query.where(audit_log.c.action == action)
    if actor is not None:
        query = query.where(audit_log.c.actor == actor)
    if since is not None:
        query = query.where(audit_log.c.at >= since)
    return await fetch_page(conn, query, page, AUDIT_SORT, AuditEntry)
