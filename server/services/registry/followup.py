"""Home-observation follow-up: today's call list and recording each call (design.md 1).

Everyone under home observation (their own status, or a hold on their household) gets a call
every day. A resident is *due* when no call has been recorded today (site local day); a due
resident is *overdue* when they have not been reached for more than a day (since their last
reached call or, if never reached, since the observation started). Calls are health data:
audited without their content, deleted with the resident and by the retention job.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from server.records import FollowupCall, ObservedResident
from server.services import audit
from server.services.context import Actor, Env
from server.services.errors import Invalid, NotFound
from server.services.registry.escalation import escalate, local_day_start
from server.services.text import NOTE_MAX, clean_text
from server.store import followup as store
from server.store import people

DAY = 86400
SYMPTOMS = ("fever", "cough", "sore_throat", "breathing", "fatigue", "taste_smell", "other")
REPORTED_MIN_C, REPORTED_MAX_C = 34.0, 43.0


@dataclass(frozen=True, slots=True)
class CallItem:
    """One line of the call list."""

    resident: ObservedResident
    days_left: int | None
    calls_today: list[FollowupCall]
    due: bool
    overdue: bool


def days_left(end: int | None, now: int) -> int | None:
    """Whole days until the observation ends (rounded up); None when open-ended."""
    return None if end is None else max(0, math.ceil((end - now) / DAY))


def observation_end(row: ObservedResident) -> int | None:
    """When the observation ends (exclusive; the later of the resident's own end and their
    household's hold), None when open-ended."""
    ends = [e for e in (row.observation_end, row.hold_until) if e is not None]
    own_open = row.status == "home_observation" and row.observation_end is None
    return None if own_open or not ends else max(ends)


def _item(
    row: ObservedResident, calls: list[FollowupCall], reached_at: int | None, now: int
) -> CallItem:
    due = not calls
    since = reached_at or row.observation_start or now
    left = days_left(observation_end(row), now)
    return CallItem(row, left, calls, due, due and now - since > DAY)


async def call_list(env: Env, actor: Actor, *, day_start: int) -> list[CallItem]:
    """Today's call list in the actor's zones; ``day_start`` is local midnight as unix time."""
    now = env.clock.now()
    async with env.db.read() as conn:
        rows = await store.observed_residents(conn, scope=actor.scope, now=now)
        ids = [r.id for r in rows]
        today = await store.calls_since(conn, resident_ids=ids, since=day_start)
        reached = await store.last_reached(conn, resident_ids=ids)
    by_resident: dict[int, list[FollowupCall]] = {}
    for call in today:
        by_resident.setdefault(call.resident_id, []).append(call)
    items = [_item(r, by_resident.get(r.id, []), reached.get(r.id), now) for r in rows]
    return sorted(items, key=lambda i: (not i.overdue, not i.due))


@dataclass(frozen=True, slots=True)
class CallReport:
    """What a caller records about one call, checked."""

    reached: bool
    temperature_c: float | None
    symptoms: list[str]
    note: str | None


def clean_call(
    *, reached: bool, temperature_c: float | None, symptoms: list[str], note: str | None
) -> CallReport:
    """Check a call's fields: plausible temperature, known symptoms, a clean note."""
    if temperature_c is not None and not (
        math.isfinite(temperature_c) and REPORTED_MIN_C <= temperature_c <= REPORTED_MAX_C
    ):
        raise Invalid(f"temperature must be {REPORTED_MIN_C}-{REPORTED_MAX_C} °C")
    unknown = set(symptoms) - set(SYMPTOMS)
    if unknown:
        raise Invalid("unknown symptom")
    if not reached and (temperature_c is not None or symptoms):
        raise Invalid("a call that did not reach the resident has no temperature or symptoms")
    text = clean_text(note or "", field="note", max_length=NOTE_MAX, required=False) or None
    return CallReport(reached, temperature_c, sorted(set(symptoms)), text)


async def record_call(env: Env, actor: Actor, resident_id: int, **fields: Any) -> int:
    """Record a call to a resident in scope (audited: who called whom, not what was said); a
    fever, a symptom or the day's second unanswered call raises an alert with it."""
    report = clean_call(**fields)
    now = env.clock.now()
    day_start = local_day_start(now, env.settings.card_utc_offset_min)
    async with env.db.write() as conn:
        resident = await people.get_resident(conn, resident_id=resident_id, scope=actor.scope)
        if resident is None:
            raise NotFound(f"resident {resident_id}")
        call = await store.insert_call(
            conn,
            resident_id=resident_id,
            at=now,
            caller=actor.name,
            reached=report.reached,
            temperature_c=report.temperature_c,
            symptoms=report.symptoms,
            note=report.note,
        )
        target = f"resident:{resident_id}"
        await audit.record(
            conn, actor, "followup.call", at=now, target=target, reached=call.reached
        )
        raised = await escalate(conn, call, household_id=resident.household_id, day_start=day_start)
    if raised is not None:
        env.hub.notify("alerts")  # the dashboards show it without a reload
    return call.id
