"""Editing lane policy from the staff pages: a zone's overrides (every lane of the zone) and a
lane's own on top, for the fields the checkpoint staff decide (phone checks, hours, fever,
anti-passback).

The form's text is parsed here into overrides with one ``FieldError`` per bad field (a stable
code the pages translate); nothing is written unless every field is valid. ``preview`` shows
what each affected lane would decide with, field by field, before anything is saved; ``save``
checks that nobody changed the overrides since that preview (``seen``), writes them with an
audit row, and the link publishes the new signed config versions on its next round.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from protocol.messages import MAX_QUIET_WINDOWS, LaneLanguage, Policy
from server.records import ConfigVersion, Gate, JSONObject, ZonePolicy
from server.services import audit
from server.services.context import Actor, Env
from server.services.errors import Conflict, Forbidden, Invalid, NotFound
from server.services.gates.policy import WEEKLY, effective_policy, merge_overrides, zone_overrides
from server.store import gate_state, registry
from server.store import zone_policies as zone_store
from server.store.db import Connection

CHOICES = ("never", "sampled", "always")
BOOLS = {"yes": True, "no": False}
WEEKDAYS = range(7)
MAX_DAILY_WINDOWS = 8
MAX_DAY_WINDOWS = 4
MAX_TEXT = 200  # characters in one form field


@dataclass(frozen=True, slots=True)
class Spec:
    """One editable policy field: how its form text reads and the range the gate accepts."""

    name: str
    kind: str  # choice, int, float, bool, windows, language, quiet
    low: float = 0
    high: float = 0


# The ranges are protocol.messages.Policy's own (the gate refuses anything else).
SPECS: tuple[Spec, ...] = (
    Spec("phone_check_resident", "choice"),
    Spec("phone_check_staff", "choice"),
    Spec("phone_sample_percent", "int", 0, 100),
    Spec("fever_threshold_c", "float", 35.0, 40.0),
    Spec("retests", "int", 0, 3),
    Spec("apb_minutes", "int", 0, 1440),
    Spec("apb_logical", "bool"),
    Spec("open_windows", "windows"),
    # the lane's voice and display (issue 18)
    Spec("lane_language", "language"),
    Spec("voice_volume", "int", 0, 100),
    Spec("quiet_hours", "quiet"),
    Spec("quiet_volume", "int", 0, 100),
)
LANGUAGES = tuple(str(lang) for lang in LaneLanguage)
# What a lane uses for a field the policy leaves unset (the Policy's own properties).
EFFECTIVE = {
    "voice_volume": "volume",
    "quiet_volume": "quiet_volume_percent",
    "quiet_hours": "quiet_list",
    "lane_language": "language",
}
FIELDS = tuple(s.name for s in SPECS)
EDITABLE = (*FIELDS, WEEKLY)
DAY_FIELDS = tuple(f"day{d}" for d in WEEKDAYS)


@dataclass(frozen=True, slots=True)
class FieldError:
    """A form field that cannot be saved, and why (``policy.error.<code>`` in the catalogs)."""

    name: str
    code: str
    values: dict[str, str] = field(default_factory=dict)


class PolicyInvalid(Invalid):
    """Some fields of the form cannot be saved (each named with its own reason)."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("policy: " + ", ".join(f"{e.name}: {e.code}" for e in errors))
        self.errors = errors


@dataclass(frozen=True, slots=True)
class Change:
    """One field of one lane that the edit changes: what the lane decides with, before and
    after (a ``day<N>`` field is that weekday's hours: its own windows, or None for daily)."""

    gate: str
    field: str
    old: Any
    new: Any


@dataclass(frozen=True, slots=True)
class Target:
    """What an edit applies to: a zone (all its lanes) or one lane, with the current state."""

    zone_id: int
    zone_name: str
    gate: Gate | None
    lanes: list[Gate]
    zone: JSONObject  # the zone's overrides now
    own: dict[str, JSONObject]  # each lane's own overrides now

    @property
    def overrides(self) -> JSONObject:
        """The overrides this edit replaces (the zone's, or the lane's)."""
        return self.zone if self.gate is None else self.own[self.gate.id]

    @property
    def seen(self) -> str:
        """A fingerprint of everything the preview was computed from."""
        facts = [self.zone, self.own, [g.id for g in self.lanes]]
        text = json.dumps(facts, sort_keys=True, ensure_ascii=True)
        return hashlib.sha256(text.encode()).hexdigest()[:32]


# --- reading the form ------------------------------------------------------------------------

TIME = re.compile(r"\A([01]?\d|2[0-4]):([0-5]\d)\Z")
WINDOW_SPLIT = re.compile(r"[,;\s\u3001\uff0c\uff1b]+")  # full-width too


def _minute(text: str) -> int | None:
    match = TIME.match(text)
    if match is None:
        return None
    minute = int(match.group(1)) * 60 + int(match.group(2))
    return minute if minute <= 1440 else None


def parse_windows(text: str, *, most: int) -> list[list[int]] | str:
    """``"06:00-09:30, 17:00-24:00"`` as minute windows; else the error's code."""
    parts = [p for p in WINDOW_SPLIT.split(text.strip()) if p]
    if len(parts) > most:
        return "windows_count"
    windows = []
    for part in parts:
        ends = part.replace("\u2013", "-").replace("~", "-").split("-")  # an en dash too
        if len(ends) != 2:
            return "windows_format"
        start, end = _minute(ends[0]), _minute(ends[1])
        if start is None or end is None:
            return "windows_format"
        if start >= end:
            return "windows_order"
        windows.append([start, end])
    return sorted(windows)


def parse_quiet(text: str) -> list[list[int]] | str:
    """Quiet hours: windows like ``22:00-06:00`` that may wrap past midnight; else an error code."""
    parts = [p for p in WINDOW_SPLIT.split(text.strip()) if p]
    if len(parts) > MAX_QUIET_WINDOWS:
        return "windows_count"
    windows = []
    for part in parts:
        ends = part.replace("\u2013", "-").replace("~", "-").split("-")
        start, end = (_minute(ends[0]), _minute(ends[1])) if len(ends) == 2 else (None, None)
        if start is None or end is None:
            return "windows_format"
        if start == end:
            return "quiet_empty"
        windows.append([start, end])
    return sorted(windows)


def _number(spec: Spec, text: str) -> int | float | FieldError:
    values = {"min": _plain(spec.low), "max": _plain(spec.high)}
    try:
        value: int | float = int(text) if spec.kind == "int" else float(text.replace(",", "."))
    except ValueError:
        return FieldError(spec.name, "number" if spec.kind == "float" else "integer", values)
    if math.isnan(value) or not spec.low <= value <= spec.high:
        return FieldError(spec.name, "range", values)
    return round(value, 1) if spec.kind == "float" else value


def _plain(number: float) -> str:
    return f"{number:g}"


def _one(spec: Spec, text: str) -> Any:
    """One field's override from its text ('' is no override); a FieldError if it is bad."""
    if spec.kind == "choice":
        return text if text in CHOICES else FieldError(spec.name, "choice")
    if spec.kind == "bool":
        return BOOLS[text] if text in BOOLS else FieldError(spec.name, "choice")
    if spec.kind == "language":
        return text if text in LANGUAGES else FieldError(spec.name, "choice")
    if spec.kind in ("windows", "quiet"):
        return _windows(spec, text)
    return _number(spec, text)


def _windows(spec: Spec, text: str) -> list[list[int]] | FieldError:
    """Opening hours (within a day) or quiet hours (may wrap past midnight)."""
    most = MAX_DAILY_WINDOWS if spec.kind == "windows" else MAX_QUIET_WINDOWS
    parsed = parse_windows(text, most=most) if spec.kind == "windows" else parse_quiet(text)
    if isinstance(parsed, str):
        return FieldError(spec.name, parsed, {"most": str(most)})
    return parsed or FieldError(spec.name, "windows_format")


def _weekly(form: Mapping[str, str], errors: list[FieldError]) -> list[list[int]] | None:
    """The weekday rows: closed, own hours, or (empty) the inherited hours."""
    entries: list[list[int]] = []
    for day, name in zip(WEEKDAYS, DAY_FIELDS, strict=True):
        if form.get(f"closed{day}", "") == "on":
            entries.append([day, 0, 0])
            continue
        text = form.get(name, "").strip()
        if not text:
            continue
        parsed = parse_windows(text, most=MAX_DAY_WINDOWS)
        if isinstance(parsed, str):
            errors.append(FieldError(name, parsed, {"most": str(MAX_DAY_WINDOWS)}))
        else:
            entries.extend([day, *w] for w in parsed)
    return entries or None


def parse_form(form: Mapping[str, str]) -> JSONObject:
    """The overrides a policy form asks for; PolicyInvalid naming every bad field."""
    errors: list[FieldError] = []
    overrides: JSONObject = {}
    for spec in SPECS:
        text = form.get(spec.name, "")
        if len(text) > MAX_TEXT:
            errors.append(FieldError(spec.name, "too_long", {"most": str(MAX_TEXT)}))
            continue
        text = text.strip()
        if not text:
            continue
        value = _one(spec, text)
        if isinstance(value, FieldError):
            errors.append(value)
        else:
            overrides[spec.name] = value
    if any(len(form.get(n, "")) > MAX_TEXT for n in DAY_FIELDS):
        errors.append(FieldError("weekly", "too_long", {"most": str(MAX_TEXT)}))
    else:
        weekly = _weekly(form, errors)
        if weekly is not None:
            overrides[WEEKLY] = weekly
    if errors:
        raise PolicyInvalid(errors)
    effective_policy(overrides)  # the protocol's model agrees (it would raise Invalid)
    return overrides


def form_of(overrides: JSONObject) -> dict[str, str]:
    """The form's text for stored overrides (what the edit page shows in its fields)."""
    form: dict[str, str] = {}
    for spec in SPECS:
        value = overrides.get(spec.name)
        if value is None:
            form[spec.name] = ""
        elif spec.kind == "bool":
            form[spec.name] = "yes" if value else "no"
        elif spec.kind in ("windows", "quiet"):
            form[spec.name] = windows_text(value)
        else:
            form[spec.name] = str(value)
    for day in WEEKDAYS:
        own = [w[1:] for w in overrides.get(WEEKLY) or [] if w[0] == day]
        closed = bool(own) and all(start == end for start, end in own)
        form[f"closed{day}"] = "on" if closed else ""
        form[f"day{day}"] = "" if closed else windows_text(own)
    return form


def windows_text(windows: list[list[int]] | list[tuple[int, int]]) -> str:
    """Minute windows as ``06:00-22:00, 23:00-24:00``."""
    return ", ".join(f"{_hhmm(start)}-{_hhmm(end)}" for start, end in windows)


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


# --- who may see and change what ------------------------------------------------------------


async def zone_target(env: Env, actor: Actor, zone_id: int) -> Target:
    """A zone of the caller's scope and its lanes (NotFound outside the scope)."""
    async with env.db.read() as conn:
        return await _zone_target(conn, actor, zone_id)


async def lane_target(env: Env, actor: Actor, gate_id: str) -> Target:
    """A lane of the caller's scope (NotFound outside the scope)."""
    async with env.db.read() as conn:
        return await _lane_target(conn, actor, gate_id)


async def _zone_target(conn: Connection, actor: Actor, zone_id: int) -> Target:
    zone = await registry.get_zone(conn, zone_id=zone_id)
    if zone is None or (actor.scope is not None and zone_id not in actor.scope):
        raise NotFound(f"zone {zone_id}")
    lanes = await registry.list_gates(conn, scope=frozenset({zone_id}))
    own = {g.id: await _own(conn, g.id) for g in lanes}
    return Target(zone_id, zone.name, None, lanes, await zone_overrides(conn, zone_id), own)


async def _lane_target(conn: Connection, actor: Actor, gate_id: str) -> Target:
    gate = await registry.get_gate(conn, gate_id=gate_id)
    if gate is None or (actor.scope is not None and gate.zone_id not in actor.scope):
        raise NotFound(f"gate {gate_id}")
    target = await _zone_target(conn, actor, gate.zone_id)
    return Target(
        target.zone_id, target.zone_name, gate, [gate], target.zone, {gate.id: target.own[gate.id]}
    )


async def _own(conn: Connection, gate_id: str) -> JSONObject:
    row = await gate_state.get_config(conn, gate=gate_id)
    return {} if row is None else dict(row.policy)


async def zones(env: Env, actor: Actor) -> list[Target]:
    """Every zone of the caller's scope with its lanes."""
    async with env.db.read() as conn:
        found = await registry.list_zones(conn, scope=actor.scope)
        return [await _zone_target(conn, actor, z.id) for z in found]


# --- what a lane decides with, and what an edit changes -------------------------------------


def inherited(target: Target) -> Policy:
    """What the edited level inherits: the site defaults (a zone) or its zone's (a lane)."""
    return effective_policy(None if target.gate is None else target.zone)


def lane_effective(target: Target, gate: str, *, edit: JSONObject | None = None) -> Policy:
    """The policy ``gate`` decides with now, or with ``edit`` replacing the edited level's
    fields of the form (the lane's other overrides, set through the API, are kept)."""
    zone, own = target.zone, target.own[gate]
    if edit is not None and target.gate is None:
        zone = _replaced(zone, edit)
    elif edit is not None:
        own = _replaced(own, edit)
    return effective_policy(merge_overrides(zone, own))


def _replaced(current: JSONObject, edit: JSONObject) -> JSONObject:
    kept = {k: v for k, v in current.items() if k not in EDITABLE}
    return kept | edit


def shown(policy: Policy) -> dict[str, Any]:
    """The editable fields of a policy as the pages show them, weekdays one by one."""
    values: dict[str, Any] = {name: getattr(policy, EFFECTIVE.get(name, name)) for name in FIELDS}
    values["open_windows"] = [list(w) for w in policy.open_windows]
    values["quiet_hours"] = [list(w) for w in policy.quiet_list]
    for day in WEEKDAYS:
        own = [[start, end] for d, start, end in policy.weekday_list if d == day]
        values[f"day{day}"] = own or None
    return values


def preview(target: Target, edit: JSONObject) -> list[Change]:
    """Every field of every affected lane that the edit changes, old and new."""
    changes = []
    for lane in target.lanes:
        old = shown(lane_effective(target, lane.id))
        new = shown(lane_effective(target, lane.id, edit=edit))
        changes += [Change(lane.id, k, old[k], new[k]) for k in old if old[k] != new[k]]
    return changes


# --- saving ----------------------------------------------------------------------------------


async def save(env: Env, actor: Actor, target: Target, edit: JSONObject, *, seen: str) -> int:
    """Write the edit (admins), audited; Conflict if the overrides changed since ``seen``.
    Returns how many lane fields change; the link publishes the lanes' new configs."""
    if not actor.is_admin:
        raise Forbidden("admins only")
    now = env.clock.now()
    async with env.db.write() as conn:
        current = await (
            _zone_target(conn, actor, target.zone_id)
            if target.gate is None
            else _lane_target(conn, actor, target.gate.id)
        )
        if current.seen != seen:
            raise Conflict("the policy changed since the preview", code="policy.changed")
        changes = preview(current, edit)
        new = _replaced(current.overrides, edit)
        if current.gate is None:
            row = ZonePolicy(
                zone_id=current.zone_id, policy=new, updated_at=now, updated_by=actor.name
            )
            await zone_store.put(conn, row)
            action, what = "zone.policy", f"zone:{current.zone_id}"
        else:
            await _put_lane(conn, current.gate.id, new)
            action, what = "gate.policy", f"gate:{current.gate.id}"
        await audit.record(
            conn,
            actor,
            action,
            at=now,
            target=what,
            keys=sorted(edit),
            fields=sorted({c.field for c in changes}),
            lanes=sorted({c.gate for c in changes}),
            source="ui",
        )
    return len(changes)


async def _put_lane(conn: Connection, gate: str, overrides: JSONObject) -> None:
    row = await gate_state.get_config(conn, gate=gate)
    if row is None:  # never published: the link's next round gives it version 1
        row = ConfigVersion(gate=gate, version=0, fingerprint="", issued_at=0, policy={})
    await gate_state.put_config(conn, ConfigVersion(**{**_fields(row), "policy": overrides}))


def _fields(row: ConfigVersion) -> dict[str, Any]:
    return {name: getattr(row, name) for name in row.__struct_fields__}
