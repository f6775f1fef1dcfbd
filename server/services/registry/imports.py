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
from dataclasses import dataclass
from dataclasses import replace as replace_options
from pathlib import Path

from server.services import audit
from server.services.context import Actor, Env
from server.services.errors import Forbidden
from server.services.registry import erased
from server.services.registry.field_decisions import Options
from server.services.registry.import_apply import Progress, apply
from server.services.registry.import_report import ImportReport, Line, report_of
from server.services.registry.reconcile import Registry, plan
from server.services.registry.register_rows import Person, RowError, loose_key, parse_row
from server.services.registry.sandbox import Limits, read_register
from server.services.registry.spreadsheet import Table
from server.store import imports as store
from server.store import registry
from server.store.db import Connection

__all__ = ["Checked", "ImportReport", "Line", "RowError", "check", "import_residents", "load"]

logger = logging.getLogger(__name__)

DAY = 86400


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
        nothing_left = not (the_plan.new or the_plan.matched)  # every row was rejected
        if the_plan.rejected and (not skip_invalid or nothing_left):
            report.held_back = True
            return report
        if not the_plan.changes_anything:
            return report
        await apply(
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
    report = report_of(the_plan, rows=checked.rows, dry_run=False)
    report.plan = the_plan
    return report
