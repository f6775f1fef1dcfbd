"""The import's report: counts, the preview's lines and the rejected rows, for a person (the UI
and the CLI say them from the catalogs) and for a script (``as_json``).

Names are masked (张*明) and phones too (138****8005): a preview shows whom it concerns, never
their data in full. Details are stable words (``started``, ``ended``, ``returned``, field names)
the catalogs translate; the masked phones of a phone change are shown as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from server.services.registry.field_decisions import Update
from server.services.registry.places import household_label
from server.services.registry.reconcile import Plan
from server.services.registry.register_rows import RowError
from server.services.text import mask_name, mask_phone


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


def line(row: int | None, label: str, name: str, detail: str = "") -> Line:
    return Line(row, label, mask_name(name), detail)


def report_of(the_plan: Plan, *, rows: int, dry_run: bool) -> ImportReport:
    """The report of a plan (before it is applied: what it does)."""
    report = ImportReport(rows=rows, dry_run=dry_run, errors=the_plan.rejected)
    labels = {a: household_label(*a) for a in the_plan.new_households}
    for n in the_plan.new:
        label = labels.get(n.person.address) or household_label(*n.person.address)
        report.new.append(line(n.person.row, label, n.person.name))
        if n.observation and n.observation[0]:
            report.observations.append(line(n.person.row, label, n.person.name, "started"))
    for u in the_plan.matched:
        describe(report, u)
    report.gone = [line(None, r.label, r.name) for r in the_plan.gone]
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


def describe(report: ImportReport, u: Update) -> None:
    """The preview lines of one matched person."""
    row, label, name = u.person.row, u.resident.label, u.resident.name
    if "phone" in u.changes:
        masked = f"{mask_phone(u.resident.phone) or '-'} → {mask_phone(u.person.phone) or '-'}"
        report.phones.append(line(row, label, name, masked))
    other = sorted(set(u.changes) - {"phone", "observation"})
    if other or u.returned:
        report.changed.append(line(row, label, name, ",".join(other + ["returned"] * u.returned)))
    if "observation" in u.changes:
        started = u.changes["observation"][0]  # type: ignore[index]
        report.observations.append(line(row, label, name, "started" if started else "ended"))
    for f in u.conflicts:
        report.conflict_lines.append(line(row, label, name, f))
