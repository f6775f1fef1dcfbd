"""One place per incident: an alert with everything it is about, in the actor's zones.

The subject comes from the alert itself: its lane, the event that raised it, and the pass it
names (the subject of fever, lending, refusal and travel alerts, or the event's pass); from the
pass its holder and household. The pass's attempts are its events around the alert
(``AROUND_MS`` either side), with the overrides that followed them at those lanes. A follow-up
alert (subject ``resident:<id>``, no lane) is about that resident: the holder's parts show the
resident and their household, and the calls of those days replace the attempts
(server.services.incidents.followups).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from server.records import (
    Alert,
    AlertAction,
    EventView,
    FollowupCall,
    Gate,
    Household,
    Pass,
    Resident,
)
from server.services.context import Actor, Env
from server.services.errors import NotFound
from server.services.incidents import followups, overrides
from server.store import alerts as alert_store
from server.store import incidents as store
from server.store import passes as pass_store
from server.store import people, registry
from server.store.db import Connection

AROUND_MS = 30 * 60 * 1000
MAX_ATTEMPTS = 50
_REF = re.compile(r"[0-9a-f]{16}")


@dataclass(frozen=True, slots=True)
class Incident:
    """An alert and its subject as the incident page shows it."""

    alert: Alert
    gate: Gate | None
    event: EventView | None
    held: Pass | None
    holder: Resident | None
    holder_name: str | None  # the pass holder's name (resident, visitor or staff), unmasked
    household: Household | None
    attempts: list[EventView]
    overrides: list[tuple[EventView, EventView]]
    actions: list[AlertAction]
    locked: bool
    about_resident: bool = False  # a follow-up alert: the holder is the resident it names
    calls: list[FollowupCall] = field(default_factory=list)


def alert_id_of(text: str) -> int:
    """An alert id from a URL (anything but a short run of digits is not found)."""
    if not text.isdigit() or len(text) > 18:
        raise NotFound(f"alert {text[:20]}")
    return int(text)


async def scoped_alert(conn: Connection, actor: Actor, alert_id: int) -> Alert:
    """The alert if it is in the actor's zones."""
    row = await alert_store.get(conn, alert_id=alert_id, scope=actor.scope)
    if row is None:
        raise NotFound(f"alert {alert_id}")
    return row


def pass_ref_of(alert: Alert, event: EventView | None) -> str | None:
    """The pass an alert is about: its event's, or its subject when that is a pass ref."""
    if event is not None and event.pass_ref:
        return event.pass_ref
    return alert.subject if _REF.fullmatch(alert.subject) else None


async def incident(env: Env, actor: Actor, alert_id: int) -> Incident:
    """The alert ``alert_id`` with its subject, attempts and actions (404 outside the zones)."""
    now = env.clock.now()
    async with env.db.read() as conn:
        alert = await scoped_alert(conn, actor, alert_id)
        resident = await followups.resident_of(conn, actor, alert)
        if resident is not None:
            return await _about_resident(conn, env, alert, resident)
        gate = await registry.get_gate(conn, gate_id=alert.gate) if alert.gate else None
        event = None
        if alert.event_id is not None:
            event = await store.event_view(conn, scope=actor.scope, event_id=alert.event_id)
        ref = pass_ref_of(alert, event)
        held = await pass_store.get_pass_by_ref(conn, ref=ref, scope=actor.scope) if ref else None
        attempts: list[EventView] = []
        linked: list[tuple[EventView, EventView]] = []
        if ref is not None:
            attempts = await store.pass_events(
                conn,
                scope=actor.scope,
                ref=ref,
                since_ms=alert.first_at * 1000 - AROUND_MS,
                until_ms=alert.last_at * 1000 + AROUND_MS,
                limit=MAX_ATTEMPTS,
            )
            if attempts:
                linked = await overrides.overrides_after(conn, actor, ref=ref, scans=attempts)
        holder = None
        if held is not None and held.resident_id is not None:
            holder = await people.get_resident(conn, resident_id=held.resident_id)
        household = None
        if held is not None and held.household_id is not None:
            household = await registry.get_household(conn, household_id=held.household_id)
        locked = held is not None and await pass_store.active_lock(conn, ref=held.ref) is not None
        return Incident(
            alert=alert,
            gate=gate,
            event=event,
            held=held,
            holder=holder,
            holder_name=_name(holder, attempts, event),
            household=household,
            attempts=attempts,
            overrides=linked,
            actions=await store.actions_of(conn, alert_id=alert.id),
            locked=locked and held is not None and held.expires > now,
        )


async def _about_resident(conn: Connection, env: Env, alert: Alert, resident: Resident) -> Incident:
    """A follow-up alert's incident: the resident, their household and the calls."""
    offset = env.settings.card_utc_offset_min
    calls = await followups.calls_of_alert(conn, alert, resident.id, utc_offset_min=offset)
    return Incident(
        alert=alert,
        gate=None,
        event=None,
        held=None,
        holder=resident,
        holder_name=resident.name,
        household=await registry.get_household(conn, household_id=resident.household_id),
        attempts=[],
        overrides=[],
        actions=await store.actions_of(conn, alert_id=alert.id),
        locked=False,
        about_resident=True,
        calls=calls,
    )


def _name(
    holder: Resident | None, attempts: list[EventView], event: EventView | None
) -> str | None:
    """The holder's name: the resident's, else what the events' join found (visitor, staff)."""
    if holder is not None:
        return holder.name
    for row in [*attempts, *([event] if event else [])]:
        if row.holder_name:
            return row.holder_name
    return None
