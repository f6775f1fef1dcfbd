"""The follow-up desk (issue 17 item 1): the call list as a caller works it, who ends
observation today, and the daily export for the street office.

A caller (server.services.staff.callers) sees the full phone numbers of the residents on their
own list, in their calling zones only, once they have stated today's purpose: that statement is
the day's first view of the list and is audited (``followup.view`` with the purpose, the zones
and how many numbers it shows). Everyone else, and a caller before stating it, sees masked
numbers. Each export is audited the same way (``followup.export``).
"""

from __future__ import annotations

from dataclasses import dataclass

from server.services import audit
from server.services.context import Actor, Env
from server.services.errors import Forbidden, Invalid
from server.services.registry import followup
from server.services.registry.escalation import DAY, fever_threshold_c, is_alarming
from server.services.staff import callers
from server.services.text import mask_phone
from server.store import callers as caller_store

PURPOSES = ("followup", "fever_recheck", "street_report")


@dataclass(frozen=True, slots=True)
class DeskLine:
    """One resident on the desk: the call list's item, the number as this reader may see it,
    and the observation's start and computed end (exclusive; None: open-ended)."""

    item: followup.CallItem
    phone: str | None
    full_phone: bool
    start: int | None
    end: int | None
    ends_today: bool
    alarming: bool


@dataclass(frozen=True, slots=True)
class Desk:
    """The desk for one reader on one local day."""

    lines: list[DeskLine]
    is_caller: bool
    purpose: str | None
    threshold_c: float

    @property
    def ends_today(self) -> list[DeskLine]:
        """Residents whose observation ends today."""
        return [line for line in self.lines if line.ends_today]


def national(phone: str | None) -> str | None:
    """A Chinese mobile as dialled at home (``13800138000``); other numbers as stored."""
    if phone is not None and phone.startswith("+86") and len(phone) == 14:
        return phone[3:]
    return phone


def _in(zones: frozenset[int] | None, zone_id: int) -> bool:
    return zones is None or zone_id in zones


def _is_caller(zones: frozenset[int] | None) -> bool:
    return zones is None or bool(zones)


def _line(item: followup.CallItem, show: bool, day_start: int, threshold_c: float) -> DeskLine:
    row = item.resident
    end = followup.observation_end(row)
    return DeskLine(
        item=item,
        phone=national(row.phone) if show else mask_phone(row.phone),
        full_phone=show and row.phone is not None,
        start=row.observation_start,
        end=end,
        ends_today=end is not None and day_start < end <= day_start + DAY,
        alarming=any(is_alarming(c, threshold_c) for c in item.calls_today),
    )


async def _purpose_today(env: Env, actor: Actor, day_start: int) -> str | None:
    async with env.db.read() as conn:
        return await caller_store.view_purpose_since(conn, actor=actor.name, since=day_start)


async def desk(env: Env, actor: Actor, *, day_start: int) -> Desk:
    """The desk as ``actor`` sees it today (``day_start``: local midnight as unix time)."""
    zones = await callers.calling_zones(env, actor)
    items = await followup.call_list(env, actor, day_start=day_start)
    purpose = await _purpose_today(env, actor, day_start) if _is_caller(zones) else None
    threshold = fever_threshold_c()
    lines = [
        _line(i, purpose is not None and _in(zones, i.resident.zone_id), day_start, threshold)
        for i in items
    ]
    return Desk(lines, _is_caller(zones), purpose, threshold)


def _check_purpose(purpose: str) -> str:
    if purpose not in PURPOSES:
        raise Invalid("purpose: pick one of the listed purposes", code="desk.purpose_required")
    return purpose


async def _calling(env: Env, actor: Actor) -> frozenset[int] | None:
    zones = await callers.calling_zones(env, actor)
    if not _is_caller(zones):
        raise Forbidden("follow-up callers and admins only", code="desk.not_caller")
    return zones


async def state_purpose(env: Env, actor: Actor, purpose: str, *, day_start: int) -> None:
    """A caller states why they open today's list with full numbers (audited)."""
    purpose = _check_purpose(purpose)
    zones = await _calling(env, actor)
    items = await followup.call_list(env, actor, day_start=day_start)
    shown = sum(1 for i in items if _in(zones, i.resident.zone_id) and i.resident.phone)
    now = env.clock.now()
    async with env.db.write() as conn:
        await audit.record(
            conn,
            actor,
            caller_store.VIEW_ACTION,
            at=now,
            target="followup:list",
            purpose=purpose,
            zones=None if zones is None else sorted(zones),
            numbers=shown,
        )


@dataclass(frozen=True, slots=True)
class ExportRow:
    """One line of the street office's daily sheet (values, not yet words)."""

    name: str
    label: str
    phone: str
    start: int | None
    end: int | None
    temperature_c: float | None
    reached: bool | None  # None: not called today
    note: str


def _export_row(item: followup.CallItem) -> ExportRow:
    row, calls = item.resident, item.calls_today  # newest first
    temps = [c.temperature_c for c in calls if c.temperature_c is not None]
    notes = [c.note for c in reversed(calls) if c.note]
    return ExportRow(
        name=row.name,
        label=row.label,
        phone=national(row.phone) or "",
        start=row.observation_start,
        end=followup.observation_end(row),
        temperature_c=temps[0] if temps else None,
        reached=any(c.reached for c in calls) if calls else None,
        note=" / ".join(notes),
    )


async def export_rows(env: Env, actor: Actor, purpose: str, *, day_start: int) -> list[ExportRow]:
    """Today's sheet of the actor's calling zones, full numbers included (audited)."""
    purpose = _check_purpose(purpose)
    zones = await _calling(env, actor)
    items = await followup.call_list(env, actor, day_start=day_start)
    rows = [_export_row(i) for i in items if _in(zones, i.resident.zone_id)]
    now = env.clock.now()
    async with env.db.write() as conn:
        await audit.record(
            conn,
            actor,
            "followup.export",
            at=now,
            target="followup:list",
            purpose=purpose,
            zones=None if zones is None else sorted(zones),
            rows=len(rows),
        )
    return rows
