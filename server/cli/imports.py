"""``gatepass-server import residents FILE``: preview or apply the office's register.

Every word comes from the catalogs in the operator's language (server.cli.messages). The exit
status says what happened: 0 every row was taken; 1 some rows were rejected (the rest written
with ``--skip-invalid``, nothing written otherwise); 2 nothing was written because the file was
refused, or because ``--skip-invalid`` left no row to take. ``--json`` prints one JSON object as
the last line of stdout.
"""

from __future__ import annotations

import argparse
import json
import sys

from server.cli.messages import explain, say
from server.cli.site import ProgressBar
from server.services.context import CLI_ACTOR, Env
from server.services.errors import ServiceError
from server.services.registry.imports import ImportReport, Line

EXIT_TAKEN, EXIT_REJECTED, EXIT_NOTHING = 0, 1, 2
SHOWN = 20  # lines per preview section; the rest are counted


async def import_register(env: Env, args: argparse.Namespace) -> int:
    """Run the import and report it; see the module docstring for the exit status."""
    from server.services.registry.imports import import_residents

    try:
        if not args.file.is_file():
            from server.services.registry.file_limits import Problem, refused

            raise refused(Problem.EMPTY, f"{args.file} is not a file")
        report = await import_residents(
            env,
            CLI_ACTOR,
            args.file,
            skip_invalid=args.skip_invalid,
            dry_run=args.dry_run,
            zone=args.zone,
            confirm_rows=set(args.confirm_row),
            progress=None if args.json else ProgressBar(),
        )
    except ServiceError as exc:
        print(f"gatepass-server: {explain(exc)}", file=sys.stderr)
        if args.json:
            print(json.dumps(_refusal(exc), ensure_ascii=False))
        return EXIT_NOTHING
    _print(report)
    status = exit_status(report, skip_invalid=args.skip_invalid)
    if args.json:
        print(json.dumps(report.as_json() | {"rejected": _messages(report)}, ensure_ascii=False))
    return status


def exit_status(report: ImportReport, *, skip_invalid: bool) -> int:
    """0 every row taken, 1 some rejected, 2 nothing written (see the module docstring)."""
    if not report.errors:
        return EXIT_TAKEN
    taken = report.rows - len({e.row for e in report.errors})
    if skip_invalid and taken == 0 and not report.dry_run:
        return EXIT_NOTHING
    return EXIT_REJECTED


def _refusal(exc: ServiceError) -> dict[str, object]:
    return {
        "rows": 0,
        "created": 0,
        "updated": 0,
        "unchanged": 0,
        "moved_out": 0,
        "observation": 0,
        "conflicts": 0,
        "written": False,
        "error": exc.code,
        "message": explain(exc),
        "rejected": [],
    }


def _column(name: str) -> str:
    return say(f"import.col.{name}")


def _reason(reason: str, other: int | None) -> str:
    return say(f"import.reason.{reason}", other=other or 0)


def _messages(report: ImportReport) -> list[dict[str, object]]:
    """The rejected rows with their localised message (``--json``)."""
    return [
        {
            "row": e.row,
            "column": e.column,
            "reason": e.reason,
            "message": say(
                "import.cli.rejected",
                row=e.row,
                column=_column(e.column),
                reason=_reason(e.reason, e.other),
            ),
        }
        for e in report.errors
    ]


def _detail(line: Line) -> str:
    if line.detail in ("started", "ended", "returned", "erased"):
        return say(f"import.detail.{line.detail}")
    if line.detail and all(part in _COLUMNS for part in line.detail.split(",")):
        return ", ".join(_column(p) for p in line.detail.split(","))
    return line.detail


_COLUMNS = frozenset(
    ("phone", "role", "note", "observation", "name", "building", "unit", "room", "zone")
)


def _section(title: str, lines: list[Line]) -> None:
    if not lines:
        return
    print(say(f"import.section.{title}") + f" ({len(lines)})")
    for line in lines[:SHOWN]:
        if line.row is None:
            print(say("import.cli.gone_item", flat=line.label, name=line.name))
        else:
            print(
                say(
                    "import.cli.item",
                    row=line.row,
                    flat=line.label,
                    name=line.name,
                    detail=_detail(line),
                ).rstrip()
            )
    if len(lines) > SHOWN:
        print(say("import.cli.more", n=len(lines) - SHOWN))


def _print(report: ImportReport) -> None:
    """The report in the operator's language: rejected rows, the preview's sections, a summary."""
    for message in _messages(report):
        print(message["message"])
    _section("new", report.new)
    _section("phones", report.phones)
    _section("changed", report.changed)
    _section("gone", report.gone)
    _section("observations", report.observations)
    _section("conflicts", report.conflict_lines)
    print(
        say(
            "import.summary",
            rows=report.rows,
            created=report.created,
            updated=report.updated,
            unchanged=report.unchanged,
            moved_out=report.moved_out,
            observation=report.observation,
            conflicts=report.conflicts,
            rejected=len(report.errors),
        )
    )
    if report.dry_run:
        nothing = report.nothing_to_do and not report.errors
        print(say("import.nothing_to_do") if nothing else say("import.cli.dry_run"))
    elif report.written:
        print(
            say(
                "import.written",
                households=report.households_created,
                reissued=report.passes_reissued,
                revoked=report.passes_revoked,
            )
        )
    elif report.held_back:
        print(say("import.cli.not_written"))
    else:
        print(say("import.nothing_changed"))
