"""The resident a follow-up alert is about, and the calls that raised it.

A follow-up alert (``followup_symptoms``, ``followup_unreached``; server.services.registry.
escalation) has no lane and no pass: its subject is ``resident:<id>``. Its incident page shows
that resident and the calls made to them on the local days the alert spans, instead of the
lane's event and the pass's attempts.
"""

from __future__ import annotations

from server.records import Alert, FollowupCall, Resident
from server.services.context import Actor
from server.services.registry.escalation import DAY, local_day_start
from server.store import followup as followup_store
from server.store import people
from server.store.alerts import RESIDENT_SUBJECT
from server.store.db import Connection

MAX_CALLS = 50


def resident_id_of(alert: Alert) -> int | None:
    """The resident an alert is about (``resident:<id>``), or None for other subjects."""
    if alert.gate is not None or not alert.subject.startswith(RESIDENT_SUBJECT):
        return None
    digits = alert.subject.removeprefix(RESIDENT_SUBJECT)
    return int(digits) if digits.isdigit() and len(digits) <= 18 else None


async def resident_of(conn: Connection, actor: Actor, alert: Alert) -> Resident | None:
    """The alert's resident if it names one in the actor's zones."""
    resident_id = resident_id_of(alert)
    if resident_id is None:
        return None
    return await people.get_resident(conn, resident_id=resident_id, scope=actor.scope)


async def calls_of_alert(
    conn: Connection, alert: Alert, resident_id: int, *, utc_offset_min: int
) -> list[FollowupCall]:
    """The resident's calls from the local midnight before the alert's first occurrence to the
    end of the local day of its last one, newest first."""
    since = local_day_start(alert.first_at, utc_offset_min)
    until = local_day_start(alert.last_at, utc_offset_min) + DAY
    calls = await followup_store.calls_since(conn, resident_ids=[resident_id], since=since)
    return [c for c in calls if c.at < until][:MAX_CALLS]
