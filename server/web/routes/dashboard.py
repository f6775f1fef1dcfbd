"""The dashboard: every gate's health, open alerts (acknowledged with a note), people inside
per zone, entries per hour today against yesterday, and today's temperature distribution."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from server.http.deps import EnvDep
from server.services.alerts import desk
from server.services.context import Actor, Env
from server.services.gates import health
from server.services.registry import places as registry
from server.services.reports import dashboard as reports
from server.web import charts
from server.web.format import FEVER_C, Clockface
from server.web.guard import PageRoute, StaffPage
from server.web.render import page

router = APIRouter(route_class=PageRoute, include_in_schema=False)


async def dashboard_context(env: Env, actor: Actor) -> dict[str, Any]:
    """Everything the dashboard's panels show (also sent again by the live stream)."""
    clock = Clockface(env.settings.card_utc_offset_min)
    day = clock.day_start(env.clock.now())
    today, yesterday = await reports.entries_today(
        env, actor, day_start=day, utc_offset_min=env.settings.card_utc_offset_min
    )
    temps = await reports.temperatures_today(env, actor, day_start=day, fever_c=FEVER_C)
    hours = [f"{h:02d}" for h in range(24)]
    temp_labels = [f"{e:.1f}" for e in temps.edges]
    return {
        "gates": await health.lane_health(env, actor),
        "alerts": await desk.dashboard_alerts(env, actor),
        "zones": await registry.list_zones(env, actor),
        "inside": await reports.inside_by_zone(env, actor),
        "entries": charts.grouped_bars({"today": today, "yesterday": yesterday}, hours, every=3),
        "entries_total": (sum(today), sum(yesterday)),
        "temps": temps,
        "temp_chart": charts.grouped_bars({"temp": temps.counts}, temp_labels, every=10),
    }


@router.get("/ui/")
async def dashboard(*, request: Request, env: EnvDep, actor: StaffPage) -> Response:
    """The office's overview."""
    return page(request, "dashboard.html", **await dashboard_context(env, actor))


@router.post("/ui/alerts/{alert_id}/ack")
async def acknowledge(
    *,
    request: Request,
    env: EnvDep,
    actor: StaffPage,
    alert_id: str,
    note: Annotated[str, Form(max_length=200)],
) -> Response:
    """Acknowledge an alert with a note saying what was done."""
    await desk.acknowledge_by_text(env, actor, alert_id, note)
    return RedirectResponse("/ui/?acked=1", status_code=303)
