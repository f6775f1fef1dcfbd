"""``import residents``: validate a whole register, then write all of it or nothing.

Every row is checked (required fields, text rules, phone format, role, duplicate people in the
file, unknown household or zone) before anything is written. Then one write transaction creates
missing households (rows that name a zone), adds new residents and updates changed ones. The
stable key of a resident is (building, unit, room, name), so importing the same file twice
changes nothing the second time. With ``skip_invalid`` the valid rows are written and the
invalid ones reported; without it, any invalid row means nothing is written. The file itself is
read by a worker process with memory and time limits (server.services.registry.sandbox), never
on the event loop; a file it refuses writes nothing either.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from server.records import Household, Resident, ResidentData
from server.services import audit
from server.services.context import Actor, Env
from server.services.errors import Invalid
from server.services.registry.places import household_label
from server.services.registry.residents import (
    ResidentFields,
    changed_resident,
    clean_resident,
    new_resident,
)
from server.services.registry.sandbox import Limits, read_register
from server.services.registry.spreadsheet import Table
from server.services.text import TextError, clean_label
from server.store import people, registry
from server.store.db import Connection

logger = logging.getLogger(__name__)

ROLE_WORDS = {
    "owner": ("业主", "户主", "产权人", "owner", "householder"),
    "tenant": ("租户", "租客", "承租人", "tenant", "renter"),
    "family": ("家属", "家庭成员", "成员", "亲属", "其他", "family", "member", "relative", ""),
}
_ROLES = {word: role for role, words in ROLE_WORDS.items() for word in words}
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem in one row; the message names the column, never the value."""

    row: int
    column: str
    message: str


@dataclass(frozen=True, slots=True)
class Person:
    """A validated row."""

    row: int
    address: tuple[str, str, str]
    zone: str | None
    fields: ResidentFields


@dataclass
class ImportReport:
    """The outcome: counts and every row error; ``written`` is False when nothing was saved."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    households_created: int = 0
    errors: list[RowError] = field(default_factory=list)
    written: bool = False


def _get(table: Table, row: list[str], name: str) -> str:
    index = table.columns.get(name)
    return row[index] if index is not None and index < len(row) else ""


def parse_row(table: Table, number: int, row: list[str]) -> Person | RowError:
    """Validate one row into a Person, or the first RowError found."""
    column = "building"
    try:
        building = clean_label(_get(table, row, "building"), "building")
        column = "unit"
        unit = clean_label(_get(table, row, "unit"), "unit", required=False)
        column = "room"
        room = clean_label(_get(table, row, "room"), "room")
        column = "role"
        role = _ROLES.get(_get(table, row, "role").strip().casefold())
        if role is None:
            return RowError(number, "role", "role must be owner/业主, tenant/租户 or family/家属")
        column = "name/phone/note"
        fields = clean_resident(
            ResidentFields(
                name=_get(table, row, "name"),
                phone=_get(table, row, "phone") or None,
                note=_get(table, row, "note") or None,
                role=role,
            )
        )
        zone = _get(table, row, "zone") or None
    except (TextError, Invalid) as exc:
        where = "phone" if "phone" in str(exc) else column
        return RowError(number, where, str(exc))
    return Person(number, (building, unit, room), zone, fields)


def validate(table: Table, progress: Progress | None = None) -> tuple[list[Person], list[RowError]]:
    """Check every row and find duplicate people within the file."""
    people_ok: list[Person] = []
    errors: list[RowError] = []
    seen: dict[tuple[str, str, str, str], int] = {}
    for i, (number, row) in enumerate(table.rows, start=1):
        result = parse_row(table, number, row)
        if isinstance(result, RowError):
            errors.append(result)
        else:
            key = (*result.address, str(result.fields.name))
            if key in seen:
                errors.append(
                    RowError(number, "name", f"duplicate person: same as row {seen[key]}")
                )
            else:
                seen[key] = number
                people_ok.append(result)
        if progress and (i % 250 == 0 or i == len(table.rows)):
            progress("validate", i, len(table.rows))
    return people_ok, errors


async def _resolve(
    conn: Connection, persons: list[Person]
) -> tuple[dict[tuple[str, str, str], Household], dict[str, int], list[RowError]]:
    """Check households and zones against the registry."""
    households = await registry.households_by_address(conn)
    zones = {z.name: z.id for z in await registry.list_zones(conn, scope=None)}
    zones |= {str(z): z for z in list(zones.values())}
    errors = []
    for p in persons:
        if p.zone is not None and p.zone not in zones:
            errors.append(RowError(p.row, "zone", "unknown zone"))
        elif p.address not in households and p.zone is None:
            errors.append(
                RowError(
                    p.row,
                    "building/unit/room",
                    "unknown household (add a zone column to create it)",
                )
            )
    return households, zones, errors


Households = dict[tuple[str, str, str], Household]


async def _write(
    conn: Connection,
    persons: list[Person],
    *,
    households: Households,
    zones: dict[str, int],
    now: int,
    report: ImportReport,
    progress: Progress | None,
) -> None:
    existing: dict[tuple[int, str], Resident | None] = dict(await people.resident_keys(conn))
    new_rows: list[ResidentData] = []
    for i, p in enumerate(persons, start=1):
        household = households.get(p.address)
        if household is None:
            assert p.zone is not None
            building, unit, room = p.address
            household = await registry.insert_household(
                conn,
                zone_id=zones[p.zone],
                building=building,
                unit=unit,
                room=room,
                label=household_label(*p.address),
                now=now,
            )
            households[p.address] = household
            report.households_created += 1
        key = (household.id, str(p.fields.name))
        fields = dataclasses.replace(p.fields, household_id=household.id)
        current = existing.get(key)
        if key not in existing:
            new_rows.append(new_resident(fields, now))
            existing[key] = None  # validate() refused a second row of this person in the file
        elif current is not None and _differs(current, fields):
            await people.save_resident(conn, current.id, changed_resident(current, fields, now))
            report.updated += 1
        else:
            report.unchanged += 1
        if progress and (i % 250 == 0 or i == len(persons)):
            progress("write", i, len(persons))
    await people.insert_residents(conn, new_rows)
    report.created = len(new_rows)


def _differs(current: Resident, fields: ResidentFields) -> bool:
    """Whether the register's row changes anything the resident has on file."""
    return any(getattr(current, f) != getattr(fields, f) for f in fields.present())


def _limits(env: Env) -> Limits:
    """The worker's limits, from the settings."""
    settings = env.settings
    return Limits(
        memory_bytes=settings.import_worker_memory_mb * 1024 * 1024,
        seconds=settings.import_worker_seconds,
        workers=settings.import_workers,
    )


async def import_residents(
    env: Env,
    actor: Actor,
    path: Path,
    *,
    skip_invalid: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Import a register file; see the module docstring for the all-or-nothing rule."""
    table = await read_register(path, _limits(env))
    persons, errors = validate(table, progress)
    report = ImportReport(rows=len(table.rows))
    async with env.db.write() as conn:
        households, zones, unresolved = await _resolve(conn, persons)
        bad_rows = {e.row for e in unresolved}
        report.errors = sorted(errors + unresolved, key=lambda e: e.row)
        if report.errors and not skip_invalid:
            return report
        persons = [p for p in persons if p.row not in bad_rows]
        await _write(
            conn,
            persons,
            households=households,
            zones=zones,
            now=env.clock.now(),
            report=report,
            progress=progress,
        )
        await audit.record(
            conn,
            actor,
            "import.residents",
            at=env.clock.now(),
            target=f"file:{path.name[:40]}",
            rows=report.rows,
            created=report.created,
            updated=report.updated,
            invalid=len(report.errors),
        )
        report.written = True
    return report


async def preview_residents(env: Env, path: Path) -> ImportReport:
    """Validate a register file against the registry without writing (the UI's report step)."""
    table = await read_register(path, _limits(env))
    persons, errors = validate(table)
    async with env.db.read() as conn:
        _, _, unresolved = await _resolve(conn, persons)
    return ImportReport(
        rows=len(table.rows), errors=sorted(errors + unresolved, key=lambda e: e.row)
    )
