"""The daily report (issue 17 item 7): a page with charts for one local day and one zone or
all of the reader's zones, and the same tables as a PDF and an XLSX file for the street
office, in the reader's language."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request, Response

from server.http.deps import EnvDep
from server.services.context import Actor, Env
from server.services.registry import places as registry
from server.services.reports import daily, daily_export
from server.services.reports.daily import DailyReport, ZoneDay
from server.services.reports.daily_export import ReportWords
from server.web import charts
from server.web.guard import PageRoute, StaffPage
from server.web.i18n import Translator
from server.web.render import language_of, page
from server.web.reportwords import report_words

router = APIRouter(route_class=PageRoute, include_in_schema=False)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HOURS = [f"{h:02d}" for h in range(24)]


async def _report(request: Request, env: Env, actor: Actor) -> DailyReport:
    query = request.query_params
    offset = env.settings.card_utc_offset_min
    day, since = daily.parse_day(query.get("day", "")[:32], now=env.clock.now(), offset_min=offset)
    zone = daily.parse_zone(query.get("zone", "")[:32])
    return await daily.daily_report(env, actor, day=day, since=since, zone=zone)


def _charts(report: DailyReport) -> dict[str, Any]:
    """Per zone (and for the total, under "total") the flow chart and the inside chart."""
    zones: list[tuple[int | str, ZoneDay]] = [(z.zone_id, z) for z in report.zones]
    if len(report.zones) > 1:
        zones.append(("total", report.total))
    return {
        "flows": {
            key: charts.grouped_bars({"in": z.tally.entries, "out": z.tally.exits}, HOURS, every=3)
            for key, z in zones
        },
        "insides": {
            key: charts.grouped_bars({"inside": z.inside}, HOURS, every=3) for key, z in zones
        },
    }


@router.get("/ui/reports/daily")
async def daily_page(*, request: Request, env: EnvDep, actor: StaffPage) -> Response:
    """The day's report with its charts; ``?day=YYYY-MM-DD&zone=N``."""
    report = await _report(request, env, actor)
    zones = await registry.list_zones(env, actor)
    t = Translator(language_of(request))
    words = report_words(t.language, day=report.day, zone=_zone_name(report, t))
    return page(
        request,
        "report_daily.html",
        report=report,
        zones=zones,
        zone=request.query_params.get("zone", "")[:32],
        summary=daily_export.summary_rows(report, words),
        overrides=daily_export.override_rows(report, words),
        **_charts(report),
    )


def _zone_name(report: DailyReport, t: Translator) -> str:
    if len(report.zones) == 1:
        return report.zones[0].name
    return t("report.all_zones")


async def _file(
    request: Request,
    env: Env,
    actor: Actor,
    build: Callable[[DailyReport, ReportWords], bytes],
    *,
    suffix: str,
    media_type: str,
) -> Response:
    """Build the whole file in a worker thread, then answer it in one piece."""
    report = await _report(request, env, actor)
    t = Translator(language_of(request))
    words = report_words(t.language, day=report.day, zone=_zone_name(report, t))
    body = await asyncio.to_thread(build, report, words)
    zone = f"-zone{report.zones[0].zone_id}" if request.query_params.get("zone") else ""
    name = f"daily-report-{report.day}{zone}.{suffix}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(body, media_type=media_type, headers=headers)


@router.get("/ui/reports/daily.pdf")
async def daily_pdf(*, request: Request, env: EnvDep, actor: StaffPage) -> Response:
    """The day's report as an A4 PDF."""
    return await _file(
        request, env, actor, daily_export.pdf, suffix="pdf", media_type="application/pdf"
    )


@router.get("/ui/reports/daily.xlsx")
async def daily_xlsx(*, request: Request, env: EnvDep, actor: StaffPage) -> Response:
    """The day's report as an XLSX workbook."""
    return await _file(request, env, actor, daily_export.xlsx, suffix="xlsx", media_type=XLSX)
