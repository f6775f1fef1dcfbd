"""Raising alerts (inside the caller's write transaction): occurrences and conditions.

Two ways an alert starts. An *occurrence* (a fever alarm, a pass locked for wrong digits) is
counted again on the open alert of the same kind, gate and subject, so one person retrying does
not flood the list. A *condition* (gate offline, clock untrusted, device fault, backlog, stale
list) is raised once while it lasts and marked resolved when it ends; it stays listed until a
staff member acknowledges it (server.services.alerts.desk). docs/operations.md says what each
kind means and what to do. A raised alert, and each occurrence counted again, also leaves one
row for the group chat's worker (server.services.alerts.channels): an insert, no network I/O.
"""

from __future__ import annotations

import logging
from typing import Any

from msgspec.structs import replace

from server.records import Alert, JSONObject
from server.services.alerts.channels import outbox
from server.services.alerts.kinds import SEVERITY, AlertKind
from server.store import alerts as alert_store
from server.store.db import Connection

logger = logging.getLogger(__name__)


async def occurred(
    conn: Connection,
    kind: AlertKind,
    *,
    gate: str | None,
    subject: str = "",
    now: int,
    event_id: str | None = None,
    **detail: Any,
) -> Alert:
    """Count an occurrence: a new alert, or one more on the open one. Returns the alert."""
    subject = subject[:64]
    found = await alert_store.find_open(conn, kind=kind.value, gate=gate, subject=subject)
    if found is not None:
        await alert_store.repeat(conn, alert_id=found.id, now=now, detail=detail)
        await outbox.enqueue(conn, found, now=now)
        return replace(found, count=found.count + 1, last_at=now, detail=detail)
    return await _insert(
        conn, kind, gate=gate, subject=subject, now=now, event_id=event_id, detail=detail
    )


async def condition(
    conn: Connection,
    kind: AlertKind,
    *,
    gate: str | None,
    subject: str = "",
    now: int,
    **detail: Any,
) -> Alert | None:
    """Hold a condition: raise it if no alert is open, reopen a resolved one; None if unchanged."""
    subject = subject[:64]
    found = await alert_store.find_open(conn, kind=kind.value, gate=gate, subject=subject)
    if found is None:
        return await _insert(
            conn, kind, gate=gate, subject=subject, now=now, event_id=None, detail=detail
        )
    if found.resolved_at is not None:
        await alert_store.repeat(conn, alert_id=found.id, now=now, detail=detail)
        await outbox.enqueue(conn, found, now=now)
        return replace(found, resolved_at=None, count=found.count + 1, last_at=now)
    return None


async def ended(
    conn: Connection, kind: AlertKind, *, gate: str | None, subject: str = "", now: int
) -> bool:
    """The condition is over: mark its open alert resolved; True if there was one."""
    changed = await alert_store.resolve(
        conn, kind=kind.value, gate=gate, subject=subject[:64], now=now
    )
    return changed > 0


async def _insert(
    conn: Connection,
    kind: AlertKind,
    *,
    gate: str | None,
    subject: str,
    now: int,
    event_id: str | None,
    detail: JSONObject,
) -> Alert:
    alert = await alert_store.insert(
        conn,
        kind=kind.value,
        severity=SEVERITY[kind],
        gate=gate,
        subject=subject,
        detail=detail,
        event_id=event_id,
        now=now,
    )
    await outbox.enqueue(conn, alert, now=now)
    logger.warning("alert %s raised: gate %s %s %s", kind.value, gate, subject, detail)
    return alert
