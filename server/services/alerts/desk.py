"""Alerts as staff see them: listed in their zones, read, acknowledged with a note (audited).

The API lists raw alert rows; the dashboard gets them shaped for its cards (the lane's name, the
event that raised it as the scan card shows it). Acknowledging wakes the live pages.
"""

from __future__ import annotations

from dataclasses import dataclass

from msgspec.structs import replace

from server.records import Alert, EventView
from server.services import audit
from server.services.context import Actor, Env
from server.services.errors import Conflict, NotFound
from server.services.incidents.followups import resident_of
from server.services.paging import Page
from server.services.registry.places import list_gates
from server.services.reports.log import event_by_id
from server.services.text import clean_text, mask_name
from server.store import alerts as alert_store
from server.store import registry as registry_store

MAX_ALERTS = 100  # the dashboard's list


async def list_alerts(
    env: Env,
    actor: Actor,
    page: Page,
    *,
    state: str = "open",
    kind: str | None = None,
    gate: str | None = None,
) -> tuple[list[Alert], int]:
    """Alerts of gates in the actor's zones (site-wide ones for unscoped staff and admins)."""
    async with env.db.read() as conn:
        return await alert_store.search(
            conn, scope=actor.scope, page=page, state=state, kind=kind, gate=gate
        )


async def get_alert(env: Env, actor: Actor, alert_id: int) -> Alert:
    """One alert in the actor's scope."""
    async with env.db.read() as conn:
        row = await alert_store.get(conn, alert_id=alert_id, scope=actor.scope)
    if row is None:
        raise NotFound(f"alert {alert_id}")
    return row


async def acknowledge(env: Env, actor: Actor, alert_id: int, note: str) -> Alert:
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
            conn, actor, "alert.ack", at=now, target=f"alert:{alert_id}", kind=row.kind
        )
    env.hub.notify("alerts")
    return replace(row, acked_at=now, acked_by=actor.name, ack_note=note)


@dataclass(frozen=True, slots=True)
class AlertCard:
    """An alert as the dashboard's card shows it: the lane by name, the event that raised it."""

    id: str
    kind: str
    gate: str | None
    gate_name: str | None
    at_ms: int
    event: EventView | None
    acked: bool
    acked_by: str | None
    ack_note: str | None
    count: int
    severity: str
    resolved: bool
    about: str | None = None  # a follow-up alert's unit and masked name (it has no lane)


async def _about(env: Env, actor: Actor, alert: Alert) -> str | None:
    """For an alert about a resident (no lane, no event): their unit and masked name."""
    async with env.db.read() as conn:
        resident = await resident_of(conn, actor, alert)
        if resident is None:
            return None
        household = await registry_store.get_household(
            conn, household_id=resident.household_id, scope=actor.scope
        )
    unit = household.label if household is not None else ""
    return " ".join(part for part in (unit, mask_name(resident.name)) if part)


async def dashboard_alerts(env: Env, actor: Actor, *, open_only: bool = True) -> list[AlertCard]:
    """Alerts in the actor's zones, newest first, shaped for the dashboard's cards."""
    page = Page(1, MAX_ALERTS, "last_at", True)
    rows, _total = await list_alerts(env, actor, page, state="open" if open_only else "all")
    names = {g.id: g.name for g in await list_gates(env, actor)}
    return [
        AlertCard(
            id=str(r.id),
            kind=r.kind,
            gate=r.gate,
            gate_name=names.get(r.gate or ""),
            at_ms=r.last_at * 1000,
            event=await event_by_id(env, actor, r.event_id),
            acked=r.acked_at is not None,
            acked_by=r.acked_by,
            ack_note=r.ack_note,
            count=r.count,
            severity=r.severity,
            resolved=r.resolved_at is not None,
            about=await _about(env, actor, r),
        )
        for r in rows
    ]


async def acknowledge_by_text(env: Env, actor: Actor, alert_id: str, note: str) -> None:
    """Acknowledge an alert whose id came from a form (anything but digits is not found)."""
    if not alert_id.isdigit() or len(alert_id) > 18:
        raise NotFound(f"alert {alert_id[:20]}")
    await acknowledge(env, actor, int(alert_id), note)
