"""The daily report as files for the street office: an XLSX workbook (openpyxl) and an A4 PDF
(reportlab, the cards' CJK font), both built whole in memory from the same tables, so a
download is either the complete file or an error page, never a truncated file.

The words come from the catalogs through ``ReportWords`` (server.web.reportwords): the
services know no language.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

from openpyxl import Workbook
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from server.services.passes.cards import font
from server.services.reports.daily import DailyReport, ZoneDay

#: the summary's rows, in the order the office reads them (catalog ``report.metric.<name>``)
METRICS = (
    "entries",
    "exits",
    "inside",
    "fevers",
    "refusals",
    "denied",
    "overrides",
    "visitors_registered",
    "visitor_passages",
    "lending_alerts",
    "alarms",
    "observation_new",
    "observation_ended",
    "observation_active",
    "calls_made",
    "calls_unanswered",
)
LANE_COLUMNS = ("entries", "exits", "denied", "fevers", "refusals", "overrides", "visitor_passages")
Cell = str | int | None
Rows = list[list[Cell]]


@dataclass(frozen=True, slots=True)
class ReportWords:
    """Every word the files print, in the reader's language."""

    title: str  # with the day filled in
    word: Callable[[str], str]  # ``report.<key>`` of the catalog
    refusals_note: str  # what "refused the check" counts
    metric: Callable[[str], str]  # ``report.metric.<name>``
    override: Callable[[str], str]  # an override reason's name
    direction: Callable[[str], str]


def metric_value(zone: ZoneDay, name: str) -> int:
    """One summary number of a zone."""
    t = zone.tally
    values: dict[str, int] = {
        "entries": t.entered,
        "exits": t.exited,
        "inside": zone.inside[-1],
        "fevers": t.fevers,
        "refusals": zone.refusals,
        "denied": t.denied,
        "overrides": sum(t.overrides.values()),
        "visitors_registered": zone.visitors_registered,
        "visitor_passages": t.visitor_passages,
        "lending_alerts": t.lending_alerts,
        "alarms": t.alarms,
        "observation_new": zone.observation_new,
        "observation_ended": zone.observation_ended,
        "observation_active": zone.observation_active,
        "calls_made": zone.calls_made,
        "calls_unanswered": zone.calls_unanswered,
    }
    return values[name]


def summary_rows(report: DailyReport, w: ReportWords) -> Rows:
    """One row per metric; a column per zone, then the total."""
    head: list[Cell] = [w.word("item"), *(z.name for z in report.zones), w.word("total")]
    rows: Rows = [head]
    for name in METRICS:
        values = [metric_value(z, name) for z in (*report.zones, report.total)]
        rows.append([w.metric(name), *values])
    return rows


def lane_rows(report: DailyReport, w: ReportWords) -> Rows:
    """One row per lane: zone, lane, direction and its counts."""
    head: list[Cell] = [w.word("zone"), w.word("lane"), w.word("direction")]
    rows: Rows = [head + [w.metric(c) for c in LANE_COLUMNS] + [w.metric("lending_alerts")]]
    for z in report.zones:
        for lane in z.lanes:
            t = lane.tally
            counts = [t.entered, t.exited, t.denied, t.fevers, t.refusals]
            counts.append(sum(t.overrides.values()))
            rows.append(
                [
                    z.name,
                    lane.lane.name,
                    w.direction(lane.lane.direction),
                    *counts,
                    t.visitor_passages,
                    t.lending_alerts,
                ]
            )
    return rows


def override_rows(report: DailyReport, w: ReportWords) -> Rows:
    """Overrides per zone and reason."""
    rows: Rows = [[w.word("zone"), w.word("reason"), w.word("count")]]
    for z in report.zones:
        for reason, n in sorted(z.tally.overrides.items()):
            rows.append([z.name, w.override(reason), n])
    return rows


def hourly_rows(report: DailyReport, w: ReportWords) -> Rows:
    """Per zone and local hour: entries, exits and the inside estimate."""
    head: list[Cell] = [w.word("zone"), w.word("hour")]
    rows: Rows = [[*head, w.metric("entries"), w.metric("exits"), w.word("inside_hour")]]
    for z in report.zones:
        inside = z.inside
        for h in range(24):
            rows.append([z.name, f"{h:02d}:00", z.tally.entries[h], z.tally.exits[h], inside[h]])
    return rows


def lane_hourly_rows(report: DailyReport, w: ReportWords) -> Rows:
    """Per lane, its passages in each local hour (entries on an entry lane, exits on an exit
    lane), one row per lane."""
    head: list[Cell] = [w.word("zone"), w.word("lane"), w.word("direction")]
    rows: Rows = [head + [f"{h:02d}" for h in range(24)]]
    for z in report.zones:
        for lane in z.lanes:
            t = lane.tally
            counts = t.entries if lane.lane.direction == "in" else t.exits
            rows.append([z.name, lane.lane.name, w.direction(lane.lane.direction), *counts])
    return rows


def _sections(report: DailyReport, w: ReportWords) -> list[tuple[str, Rows]]:
    return [
        (w.word("summary"), summary_rows(report, w)),
        (w.word("lanes"), lane_rows(report, w)),
        (w.word("overrides"), override_rows(report, w)),
        (w.word("hourly"), hourly_rows(report, w)),
    ]


def _workbook_sections(report: DailyReport, w: ReportWords) -> list[tuple[str, Rows]]:
    """The PDF's sections, and each lane's hours (24 columns: a sheet, not an A4 page)."""
    return [*_sections(report, w), (w.word("lane_hourly"), lane_hourly_rows(report, w))]


def xlsx(report: DailyReport, w: ReportWords) -> bytes:
    """The workbook: a sheet per section, the title and the notes on the first."""
    book = Workbook()
    first = True
    for title, rows in _workbook_sections(report, w):
        sheet = book.active if first else book.create_sheet()
        assert sheet is not None
        sheet.title = title[:31]
        if first:
            sheet.append([w.title])
            sheet.append([w.word("inside_note")])
            sheet.append([w.refusals_note])
            sheet.append([])
            first = False
        for row in rows:
            sheet.append(row)
            for cell in sheet[sheet.max_row]:
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    cell.data_type = "s"  # a lane named "=..." is text, never a formula
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _table(rows: Rows, typeface: str) -> Table:
    table = Table([["" if c is None else str(c) for c in r] for r in rows], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), typeface),
                ("FONTSIZE", (0, 0), (-1, -1), 8),
                ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
                ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
            ]
        )
    )
    return table


def pdf(report: DailyReport, w: ReportWords) -> bytes:
    """The A4 PDF: title, notes, then each section's table."""
    typeface = font()
    heading = ParagraphStyle("h", fontName=typeface, fontSize=14, leading=20)
    section = ParagraphStyle("s", fontName=typeface, fontSize=11, leading=16, spaceBefore=8)
    note = ParagraphStyle("n", fontName=typeface, fontSize=8, leading=11)
    story: list[object] = [
        Paragraph(_escape(w.title), heading),
        Paragraph(_escape(w.word("inside_note")), note),
        Paragraph(_escape(w.refusals_note), note),
        Spacer(1, 4 * mm),
    ]
    for title, rows in _sections(report, w):
        story += [Paragraph(_escape(title), section), _table(rows, typeface)]
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out, pagesize=A4, title=w.title, leftMargin=15 * mm, rightMargin=15 * mm
    )
    doc.build(story)
    return out.getvalue()


def _escape(text: str) -> str:
    """Paragraph text is mini-markup: zone and lane names are shown as typed."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
