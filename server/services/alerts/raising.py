"""Alerts: what ingest and the link's monitor raise, and what staff acknowledge with a note.

Two ways an alert starts. An *occurrence* (a fever alarm, a pass locked for wrong digits) is
counted again on the open alert of the same kind, gate and subject, so one person retrying does
not flood the list. A *condition* (gate offline, clock untrusted, device fault, backlog, stale
list) is raised once while it lasts and marked resolved when it ends; it stays listed until a
staff member acknowledges it. docs/operations.md says what each kind means and what to do.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from server.services import audit
from server.services.context import Actor, Env
from server.services.errors import Conflict, NotFound
from server.services.text import clean_text
from server.store import alerts as alert_store
from server.store.query import Page

logger = logging.getLogger(__name__)


class AlertKind(StrEnum):
    """Every kind of alert; append-only, like reason codes."""

    FEVER = "fever"
    SUSPECTED_LENDING = "suspected_lending"
    REPEATED_REFUSALS = "repeated_refusals"
    IMPOSSIBLE_TRAVEL = "impossible_travel"
    GATE_OFFLINE = "gate_offline"
    DEVICE_FAULT = "device_fault"
    OUTBOX_BACKLOG = "outbox_backlog"
    CLOCK_UNTRUSTED = "clock_untrusted"
    REVOCATION_STALE = "revocation_stale"
    DOOR = "door"
    SEQ_REPLAY = "seq_replay"
    SEQ_GAP = "seq_gap"
    IMPERSONATION = "impersonation"


SEVERITY = {
    AlertKind.FEVER: "high",
    AlertKind.SUSPECTED_LENDING: "high",
    AlertKind.IMPOSSIBLE_TRAVEL: "high",
    AlertKind.IMPERSONATION: "high",
    AlertKind.DOOR: "high",
    AlertKind.GATE_OFFLINE: "medium",
    AlertKind.DEVICE_FAULT: "medium",
    AlertKind.REVOCATION_STALE: "medium",
    AlertKind.REPEATED_REFUSALS: "medium",
    AlertKind.SEQ_REPLAY: "medium",
    AlertKind.SEQ_GAP: "medium",
    AlertKind.OUTBOX_BACKLOG: "low",
    AlertKind.CLOCK_UNTRUSTED: "low",
}


async def occurred(
    conn: AsyncConnection,
    kind: AlertKind,
    *,
    gate: str | None,
    subject: str = "",
    now: int,
    event_id: str | None = None,
    **detail: Any,
) -> dict[str, Any]:
    """Count an occurrence: a new alert, or one more on the open one. Returns the alert."""
    subject = subject[:64]
    found = await alert_store.find_open(conn, kind=kind.value, gate=gate, subject=subject)
    if found is not None:
        await alert_store.repeat(conn, alert_id=found["id"], now=now, detail=detail)
        return found | {"count": found["count"] + 1, "last_at": now, "detail": detail}
    return await _insert(
        conn, kind, gate=gate, subject=subject, now=now, event_id=event_id, detail=detail
    )


async def condition(
    conn: AsyncConnection,
    kind: AlertKind,
    *,
    gate: str | None,
    subject: str = "",
    now: int,
    **detail: Any,
) -> dict[str, Any] | None:
    """Hold a condition: raise it if no alert is open, reopen a resolved one; None if unchanged."""
    subject = subject[:64]
    found = await alert_store.find_open(conn, kind=kind.value, gate=gate, subject=subject)
    if found is None:
        return await _insert(
            conn, kind, gate=gate, subject=subject, now=now, event_id=None, detail=detail
        )
    if found["resolved_at"] is not None:
        await alert_store.repeat(conn, alert_id=found["id"], now=now, detail=detail)
        return found | {"resolved_at": None, "count": found["count"] + 1, "last_at": now}
    return None


async def ended(
    conn: AsyncConnection, kind: AlertKind, *, gate: str | None, subject: str = "", now: int
) -> bool:
    """The condition is over: mark its open alert resolved; True if there was one."""
    changed = await alert_store.resolve(
        conn, kind=kind.value, gate=gate, subject=subject[:64], now=now
    )
    return changed > 0


async def _insert(
    conn: AsyncConnection,
    kind: AlertKind,
    *,
    gate: str | None,
    subject: str,
    now: int,
    event_id: str | None,
    detail: dict[str, Any],
) -> dict[str, Any]:
    values = {
        "kind": kind.value, "severity": SEVERITY[kind], "gate": gate, "subject": subject,
        "detail": detail, "event_id": event_id, "first_at": now, "last_at": now, "count": 1,
        "resolved_at": None, "acked_at": None, "acked_by": None, "ack_note": None,
    }  # fmt: skip
    alert_id = await alert_store.insert(conn, values=values)
    logger.warning("alert %s raised: gate %s %s %s", kind.value, gate, subject, detail)
    return {"id": alert_id, **values}


async def list_alerts(
    env: Env,
    actor: Actor,
    page: Page,
    *,
    state: str = "open",
    kind: str | None = None,
    gate: str | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """Alerts of gates in the actor's zones (site-wide ones for unscoped staff and admins)."""
    async with env.db.read() as conn:
        return await alert_store.search(
            conn, scope=actor.scope, page=page, state=state, kind=kind, gate=gate
        )


async def get_alert(env: Env, actor: Actor, alert_id: int) -> dict[str, Any]:
    """One alert in the actor's scope."""
    async with env.db.read() as conn:
        row = await alert_store.get(conn, alert_id=alert_id, scope=actor.scope)
    if row is None:
        raise NotFound(f"alert {alert_id}")
    return row


async def acknowledge(env: Env, actor: Actor, alert_id: int, note: str) -> dict[str, Any]:
    """A staff member saw the alert and notes what was done; audited (the note stays here)."""
    note = clean_text(note, field="note", max_length=500)
    now = env.clock.now()
    async with env.db.write() as conn:
        row = await alert_store.get(conn, alert_id=alert_id, scope=actor.scope)
        if row is None:
            raise NotFound(f"alert {alert_id}")
        if not await alert_store.acknowledge(
            conn, alert_id=alert_id, by=actor.name, note=note, now=now
        ):
            raise Conflict(f"alert {alert_id} is already acknowledged")
        await audit.record(
            conn, actor, "alert.ack", at=now, target=f"alert:{alert_id}", kind=row["kind"]
        )
    return row | {"acked_at": now, "acked_by": actor.name, "ack_note": note}
