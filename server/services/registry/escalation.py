"""Escalating follow-up calls into alerts (issue 17 item 1), inside the call's transaction.

A reached resident reporting a temperature at or above the site's fever threshold (the site
default policy's ``fever_threshold_c``) or any symptom raises ``followup_symptoms``; the second
unanswered call to the same resident in one local day raises ``followup_unreached``. Both are
occurrences on the subject ``resident:<id>`` (the alert links to the resident page), so more of
the same counts on the open alert. The detail holds ids and codes, never a name or a number.
"""

from __future__ import annotations

from server.records import Alert, FollowupCall
from server.services.alerts.kinds import AlertKind
from server.services.alerts.raising import occurred
from server.services.gates.policy import effective_policy
from server.store import followup as store
from server.store.db import Connection

DAY = 86400
UNANSWERED_ALERT = 2  # unanswered calls in one local day that raise an alert


def local_day_start(now: int, utc_offset_min: int) -> int:
    """Unix time of the site's local midnight on the day of ``now``."""
    offset = utc_offset_min * 60
    return now - (now + offset) % DAY


def fever_threshold_c() -> float:
    """The site's fever threshold: the default lane policy's."""
    return effective_policy(None).fever_threshold_c


def is_alarming(call: FollowupCall, threshold_c: float) -> bool:
    """Whether a reached call reports a fever or a symptom."""
    fever = call.temperature_c is not None and call.temperature_c >= threshold_c
    return call.reached and (fever or bool(call.symptoms))


async def escalate(
    conn: Connection, call: FollowupCall, *, household_id: int, day_start: int
) -> Alert | None:
    """Raise the alert a just-recorded call calls for, if any."""
    subject = f"resident:{call.resident_id}"
    if is_alarming(call, fever_threshold_c()):
        return await occurred(
            conn,
            AlertKind.FOLLOWUP_SYMPTOMS,
            gate=None,
            subject=subject,
            now=call.at,
            temperature_c=call.temperature_c,
            symptoms=call.symptoms,
            resident=call.resident_id,
            household=household_id,
        )
    if call.reached:
        return None
    today = await store.calls_since(conn, resident_ids=[call.resident_id], since=day_start)
    unanswered = sum(1 for c in today if not c.reached)
    if unanswered < UNANSWERED_ALERT:
        return None
    return await occurred(
        conn,
        AlertKind.FOLLOWUP_UNREACHED,
        gate=None,
        subject=subject,
        now=call.at,
        unanswered=unanswered,
        resident=call.resident_id,
        household=household_id,
    )
