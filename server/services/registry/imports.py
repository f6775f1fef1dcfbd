"""``import residents``: the office's register, previewed, then reconciled with the registry.

Every import is first a preview (``dry_run``): the file is read by a limited worker process
(server.services.registry.sandbox, never on the event loop), every row is checked
(server.services.registry.register_rows) and the plan is made against the registry
(server.services.registry.reconcile): new people, changed phones and fields, people gone since
the last import, home-observation changes, conflicts with edits made in the UI, people erased
under the privacy rules (held back unless their row is confirmed) and rejected rows. Applying
makes the plan again inside one write transaction and carries it out: households and people
added, fields updated, a changed phone reissuing that person's live passes (the old ones
revoked), people gone marked moved out and their passes revoked, observation started or ended
(the revocation list's sequence moves, so the gates' holds and the follow-up list follow at
once). Rejected rows mean nothing is written, unless ``skip_invalid`` takes the rest. Row
numbers are the spreadsheet's (the header is row 1).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from dataclasses import replace as replace_options
from pathlib import Path

from msgspec.structs import replace

from server.records import ImportBaseline, Resident, ResidentData
from server.services import audit
from server.services.context import Actor, Env
from server.services.errors import Forbidden
from server.services.passes.issuing import resident_holder, revoke_in, sign_for
from server.services.registry import erased
from server.services.registry.places import household_label
from server.services.registry.reconcile import (
    MOVED_OUT,
    OBSERVING,
    NewPerson,
    Options,
    Plan,
    Registry,
    Update,
    observation_bounds,
    plan,
)
from server.services.registry.register_rows import Person, RowError, loose_key, parse_row
from server.services.registry.sandbox import Limits, read_register
from server.services.registry.spreadsheet import Table
from server.services.text import mask_name, mask_phone
from server.store import imports as store
from server.store import passes as pass_store
from server.store import people, registry
from server.store.db import Connection

logger = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
DAY = 86400


@dataclass(frozen=True, slots=True)
class Line:
    """One person in the preview: the row, the flat, the masked name and what happens."""

    row: int | None
    label: str
    name: str
    detail: str = ""  # a stable word: the field in conflict, started/ended, the masked phones


@dataclass
class ImportReport:
    """What an import found and did (or, for a preview, would do)."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    moved_out: int = 0
    observation: int = 0
    conflicts: int = 0
    households_created: int = 0
    passes_reissued: int = 0
    passes_revoked: int = 0
    errors: list[RowError] = field(default_factory=list)
    new: list[Line] = field(default_factory=list)
    phones: list[Line] = field(default_factory=list)
    changed: list[Line] = field(default_factory=list)
    gone: list[Line] = field(default_factory=list)
    observations: list[Line] = field(default_factory=list)
    conflict_lines: list[Line] = field(default_factory=list)
    erased_rows: list[Line] = field(default_factory=list)
    written: bool = False
    dry_run: bool = False
    nothing_to_do: bool = False  # the registry already matches the file
    held_back: bool = False  # rows were rejected, so nothing was written
    plan: Plan | None = field(default=None, repr=False)  # what the report was made from

    def as_json(self) -> dict[str, object]:
        """The machine-readable summary (``--json``): counts and the rejected rows."""
        return {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "moved_out": self.moved_out,
            "observation": self.observation,
            "conflicts": self.conflicts,
            "households_created": self.households_created,
            "passes_reissued": self.passes_reissued,
            "written": self.written,
            "dry_run": self.dry_run,
            "conflict_rows": [
                {"row": line.row, "column": line.detail} for line in self.conflict_lines
            ],
            "rejected": [
                {"row": e.row, "column": e.column, "reason": e.reason} for e in self.errors
            ],
        }


@dataclass(frozen=True, slots=True)
class Checked:
    """The rows checked: people, rejected rows, and the (address, name) each rejected row names
    (protected from being taken for gone)."""

    rows: int
    persons: list[Person]
    errors: list[RowError]
    protected: set[tuple[str, str, str, str]]


def check(table: Table) -> Checked:
    """Every row of the table checked."""
    persons: list[Person] = []
    errors: list[RowError] = []
    protected: set[tuple[str, str, str, str]] = set()
    names = list(table.columns)
    for number, row in table.rows:
        cells = {name: row[i] if i < len(row) else "" for i, name in enumerate(names)}
        result = parse_row(number, cells)
        if isinstance(result, RowError):
            errors.append(result)
            protected.add(loose_key(cells))
        else:
            persons.append(result)
    return Checked(len(table.rows), persons, errors, protected)


async def load(conn: Connection, env: Env) -> Registry:
    """The registry as the import sees it, in the caller's transaction."""
    households = await store.all_households(conn)
    erased_set = await store.erased(conn)
    return Registry(
        zones=await registry.list_zones(conn, scope=None),
        households={(h.building, h.unit, h.room): h for h in households},
        residents=await store.all_residents(conn),
        baselines=await store.baselines(conn),
        erased=erased_set,
        erased_key=erased.load_key(env.keys_dir) if erased_set else None,
    )


def _limits(env: Env) -> Limits:
    settings = env.settings
    return Limits(
        memory_bytes=settings.import_worker_memory_mb * 1024 * 1024,
        seconds=settings.import_worker_seconds,
        workers=settings.import_workers,
    )


def _options(env: Env, zone: str | None, confirm_rows: set[int] | frozenset[int]) -> Options:
    offset = env.settings.card_utc_offset_min * 60  # the site's local time (UTC+8 by default)
    today_start = (env.clock.now() + offset) // DAY * DAY - offset
    return Options(
        zone=zone.strip() if zone and zone.strip() else None,
        confirm_rows=frozenset(confirm_rows),
        observation_days=env.settings.observation_days,
        today_start=today_start,
        utc_offset_min=env.settings.card_utc_offset_min,
    )


async def import_residents(
    env: Env,
    actor: Actor,
    path: Path,
    *,
    skip_invalid: bool = False,
    dry_run: bool = False,
    zone: str | None = None,
    confirm_rows: set[int] | frozenset[int] = frozenset(),
    progress: Progress | None = None,
) -> ImportReport:
    """Preview (``dry_run``) or apply a register file; see the module docstring."""
    if not actor.is_admin:
        raise Forbidden("admins only")
    table = await read_register(path, _limits(env))
    if progress:
        progress("check", 0, len(table.rows))
    # [1] checking and planning are CPU work proportional to the file: in a thread, so the event
    # loop (the UI, the API, MQTT ingest) keeps its turns while a 100,000-row file is planned
    checked = await asyncio.to_thread(check, table)
    if progress:
        progress("check", len(table.rows), len(table.rows))
    options = replace_options(_options(env, zone, confirm_rows), columns=frozenset(table.columns))
    now = env.clock.now()
    if dry_run:
        async with env.db.read() as conn:
            registry_now = await load(conn, env)
        preview = await asyncio.to_thread(_planned, registry_now, checked, options, now)
        preview.dry_run = True
        return preview
    async with env.db.write() as conn:
        registry_now = await load(conn, env)
        report = await asyncio.to_thread(_planned, registry_now, checked, options, now)  # [1]
        the_plan = report.plan
        assert the_plan is not None
        if the_plan.rejected and not skip_invalid:
            report.held_back = True
            return report
        if not the_plan.changes_anything:
            return report
        await _apply(
            conn, env, actor, the_plan=the_plan, options=options, report=report, progress=progress
        )
        await audit.record(
            conn,
            actor,
            "import.residents",
            at=now,
            target=f"file:{path.name[:40]}",
            rows=report.rows,
            created=report.created,
            updated=report.updated,
            moved_out=report.moved_out,
            invalid=len(report.errors),
        )
        report.written = True
    return report


async def preview_residents(
    env: Env,
    actor: Actor,
    path: Path,
    *,
    zone: str | None = None,
    confirm_rows: set[int] | frozenset[int] = frozenset(),
) -> ImportReport:
    """The preview of a register file: what applying it would do, nothing written."""
    return await import_residents(
        env, actor, path, dry_run=True, zone=zone, confirm_rows=confirm_rows
    )


def _planned(registry_now: Registry, checked: Checked, options: Options, now: int) -> ImportReport:
    """The plan and its report (CPU only: runs in a worker thread)."""
    the_plan = plan(
        registry_now,
        checked.persons,
        rejected=checked.errors,
        protected=checked.protected,
        options=options,
        now=now,
    )
    report = _report(the_plan, rows=checked.rows, dry_run=False)
    report.plan = the_plan
    return report


def _line(row: int | None, label: str, name: str, detail: str = "") -> Line:
    return Line(row, label, mask_name(name), detail)


def _report(the_plan: Plan, *, rows: int, dry_run: bool) -> ImportReport:
    """The report of a plan (before it is applied: what it does)."""
    report = ImportReport(rows=rows, dry_run=dry_run, errors=the_plan.rejected)
    labels = {a: household_label(*a) for a in the_plan.new_households}
    for n in the_plan.new:
        label = labels.get(n.person.address) or household_label(*n.person.address)
        report.new.append(_line(n.person.row, label, n.person.name))
        if n.observation and n.observation[0]:
            report.observations.append(_line(n.person.row, label, n.person.name, "started"))
    for u in the_plan.matched:
        _describe(report, u)
    report.gone = [_line(None, r.label, r.name) for r in the_plan.gone]
    report.erased_rows = [
        Line(e.row, "", "", "erased") for e in the_plan.rejected if e.reason == "erased_person"
    ]
    report.created = len(the_plan.new)
    report.updated = len(the_plan.updated)
    report.unchanged = the_plan.unchanged
    report.moved_out = len(the_plan.gone)
    report.observation = the_plan.observation_changes
    report.conflicts = len(the_plan.conflicts)
    report.households_created = len(the_plan.new_households)
    report.nothing_to_do = not the_plan.changes_anything
    return report


def _describe(report: ImportReport, u: Update) -> None:
    """The preview lines of one matched person."""
    row, label, name = u.person.row, u.resident.label, u.resident.name
    if "phone" in u.changes:
        masked = f"{mask_phone(u.resident.phone) or '-'} → {mask_phone(u.person.phone) or '-'}"
        report.phones.append(_line(row, label, name, masked))
    other = sorted(set(u.changes) - {"phone", "observation"})
    if other or u.returned:
        report.changed.append(_line(row, label, name, ",".join(other + ["returned"] * u.returned)))
    if "observation" in u.changes:
        started = u.changes["observation"][0]  # type: ignore[index]
        report.observations.append(_line(row, label, name, "started" if started else "ended"))
    for f in u.conflicts:
        report.conflict_lines.append(_line(row, label, name, f))


async def _apply(
    conn: Connection,
    env: Env,
    actor: Actor,
    *,
    the_plan: Plan,
    options: Options,
    report: ImportReport,
    progress: Progress | None,
) -> None:
    """Carry the plan out in the caller's write transaction."""
    now = env.clock.now()
    households = await _add_households(conn, the_plan, now)
    await _add_people(conn, the_plan.new, households, options, now)
    if progress:
        progress("write", len(the_plan.new), len(the_plan.new) + len(the_plan.matched))
    held = False
    for u in the_plan.updated:
        await people.save_resident(conn, u.resident.id, _changed(u, options, now))
        held = held or "observation" in u.changes or u.returned
        if "phone" in u.changes:
            report.passes_reissued += await _reissue(conn, env, actor, u.resident.id, now)
    for r in the_plan.gone:
        await people.save_resident(conn, r.id, _moved_out(r, now))
        live = await pass_store.active_passes(conn, now=now, resident_id=r.id)
        report.passes_revoked += await revoke_in(conn, env, actor, live, "moved out (import)")
        held = held or r.status == OBSERVING
    await store.put_baselines(conn, the_plan.baselines)
    await store.forget_erased(
        conn, fingerprints=[n.fingerprint for n in the_plan.new if n.fingerprint]
    )
    if held or the_plan.observation_changes:
        await pass_store.bump_counter(conn, name=pass_store.REVOCATION_SEQ)
    if progress:
        total = len(the_plan.new) + len(the_plan.matched)
        progress("write", total, total)


async def _add_households(
    conn: Connection, the_plan: Plan, now: int
) -> dict[tuple[str, str, str], int]:
    """Create the new households; every household id by address."""
    await store.insert_households(
        conn,
        [
            {
                "zone_id": zone_id,
                "building": address[0],
                "unit": address[1],
                "room": address[2],
                "label": household_label(*address),
                "hold_until": None,
                "created_at": now,
                "updated_at": now,
            }
            for address, zone_id in the_plan.new_households.items()
        ],
    )
    return {a: h.id for a, h in (await registry.households_by_address(conn)).items()}


async def _add_people(
    conn: Connection,
    new: list[NewPerson],
    households: dict[tuple[str, str, str], int],
    options: Options,
    now: int,
) -> None:
    """Insert the new residents and their baselines."""
    values = []
    for n in new:
        observed = bool(n.observation and n.observation[0])
        start, end = observation_bounds(n.observation, options) if observed else (None, None)  # type: ignore[arg-type]
        data = ResidentData(
            household_id=households[n.person.address],
            name=n.person.name,
            phone=n.person.phone,
            role=n.person.role,
            status=OBSERVING if observed else "normal",
            observation_start=start,
            observation_end=end,
            consent_version=None,
            consent_at=None,
            note=n.person.note,
            created_at=now,
            updated_at=now,
        )
        values.append({f: getattr(data, f) for f in ResidentData.__struct_fields__})
    added = await store.insert_residents(conn, values)
    ids = [added[(v["household_id"], v["name"], v["phone"])] for v in values]
    await store.put_baselines(
        conn,
        [
            ImportBaseline(
                resident_id=i,
                phone=v["phone"],
                role=v["role"],
                note=v["note"],
                observed=v["status"] == OBSERVING,
                observation_start=v["observation_start"],
                imported_at=now,
            )
            for i, v in zip(ids, values, strict=True)
        ],
    )


def _data(row: Resident) -> ResidentData:
    return ResidentData(**{f: getattr(row, f) for f in ResidentData.__struct_fields__})


def _changed(u: Update, options: Options, now: int) -> ResidentData:
    """The resident's row with the file's changes applied (a returning person is active again)."""
    data = replace(_data(u.resident), updated_at=now)
    for name in ("phone", "role", "note"):
        if name in u.changes:
            data = replace(data, **{name: u.changes[name]})
    if u.returned and "observation" not in u.changes:
        data = replace(data, status="normal", observation_start=None, observation_end=None)
    if "observation" in u.changes:
        wanted = u.changes["observation"]
        start, end = observation_bounds(wanted, options)  # type: ignore[arg-type]
        status = OBSERVING if wanted[0] else "normal"  # type: ignore[index]
        data = replace(data, status=status, observation_start=start, observation_end=end)
    return data


def _moved_out(r: Resident, now: int) -> ResidentData:
    return replace(
        _data(r), status=MOVED_OUT, observation_start=None, observation_end=None, updated_at=now
    )


async def _reissue(conn: Connection, env: Env, actor: Actor, resident_id: int, now: int) -> int:
    """New passes (with the new phone's tag) for every live pass of a resident; the old ones
    revoked, so the gate asks for the new digits."""
    live = await pass_store.active_passes(conn, now=now, resident_id=resident_id)
    for old in live:
        holder = await resident_holder(conn, actor, resident_id)
        new = await sign_for(conn, env, actor, holder, expires=old.expires)
        await revoke_in(conn, env, actor, [old], f"phone changed: reissued as {new.ref}")
    return len(live)
