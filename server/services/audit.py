"""Audit entries: who did what to which object, from where; never a phone number or a name.

``record`` runs inside the caller's write transaction, so an audited change and its audit row
commit together or not at all. Details are small JSON maps of ids, counts and reasons.
``audit_log`` reads them back for admins.
"""

from __future__ import annotations

from typing import Any

from server.records import AuditEntry
from server.services.context import Actor, Env
from server.services.errors import Forbidden
from server.services.paging import Page
from server.store import audit as audit_store
from server.store.db import Connection


async def record(
    conn: Connection,
    actor: Actor,
    action: str,
    *,
    at: int,
    target: str | None = None,
    **detail: Any,
) -> None:
    """Append an audit row for ``action`` on ``target`` (e.g. ``resident:12``)."""
    await audit_store.append(
        conn,
        at=at,
        actor=actor.name,
        action=action,
        target=target,
        address=actor.address,
        detail=detail,
    )


async def audit_log(
    env: Env,
    actor: Actor,
    page: Page,
    *,
    action: str | None = None,
    by: str | None = None,
    since: int | None = None,
) -> tuple[list[AuditEntry], int]:
    """Audit entries (admins), filtered by action, acting user and time."""
    if not actor.is_admin:
        raise Forbidden("admins only")
    async with env.db.read() as conn:
        return await audit_store.search(conn, page=page, action=action, actor=by, since=since)
