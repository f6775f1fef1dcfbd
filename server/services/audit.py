"""Audit entries: who did what to which object, from where; never a phone number or a name.

``record`` runs inside the caller's write transaction, so an audited change and its audit row
commit together or not at all. Details are small JSON maps of ids, counts and reasons.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from server.services.context import Actor
from server.store import audit as audit_store


async def record(
    conn: AsyncConnection,
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
