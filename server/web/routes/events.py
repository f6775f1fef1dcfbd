"""The event log (filter by lane, time, reason and decision; CSV export) and the audit log."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from protocol.reasons import ReasonCode
from server.http.deps import EnvDep
from server.services import audit
from server.services.context import Actor, Env
from server.services.errors import Invalid
from server.services.gates import health
from server.services.incidents import overrides
from server.services.reports import log as reports
from server.services.reports.log import EventFilter
from server.web.csvout import to_csv
from server.web.format import Clockface, mask_name
from server.web.forms import local_datetime, page_of, pages
from server.web.guard import AdminPage, PageRoute, StaffPage
from server.web.i18n import Translator
from server.web.render import language_of, page

router = APIRouter(route_class=PageRoute, include_in_schema=False)
DECISIONS = {"granted": True, "denied": False}
CSV_COLUMNS = (
    "time",
    "lane",
    "decision",
    "reason",
    "unit",
    "name",
    "kind",
    "temperature",
    "pass_ref",
    "event_id",
)


def _filter(clock: Clockface, q: dict[str, str]) -> EventFilter:
    since = local_datetime(clock, q.get("since", ""), field="since")
    until = local_datetime(clock, q.get("until", ""), field="until")
    decision = q.get("decision", "")
    if decision and decision not in DECISIONS:
        raise Invalid("decision must be granted or denied")
    return EventFilter(
        gate=q.get("gate") or None,
        reason=q.get("reason") or None,
        since_ms=None if since is None else since * 1000,
        until_ms=None if until is None else until * 1000,
        granted=DECISIONS.get(decision),
    )


def _query(request: Request) -> dict[str, str]:
    names = ("gate", "since", "until", "reason", "decision")
    return {n: request.query_params.get(n, "")[:32] for n in names}


async def _choices(env: Env, actor: Actor) -> dict[str, Any]:
    gates = [h.gate for h in await health.lane_health(env, actor)]
    return {"gates": gates, "reasons": [r.value for r in ReasonCode]}


@router.get("/ui/events")
async def event_log(*, request: Request, env: EnvDep, actor: StaffPage, p: int = 1) -> Response:
    """The filtered event log, newest first."""
    q = _query(request)
    where = _filter(Clockface(env.settings.card_utc_offset_min), q)
    rows, total = await reports.search(env, actor, page_of(p, descending=True), where)
    return page(
        request,
        "events.html",
        rows=rows,
        linked=await overrides.linked_scans(env, actor, rows),
        total=total,
        q=q,
        p=p,
        pages=pages(total),
        **await _choices(env, actor),
    )


@router.get("/ui/events.csv")
async def event_csv(*, request: Request, env: EnvDep, actor: StaffPage) -> Response:
    """The same filter as a CSV file (names masked; formula-looking text neutralised)."""
    clock = Clockface(env.settings.card_utc_offset_min)
    rows = await reports.export(env, actor, _filter(clock, _query(request)))
    t = Translator(language_of(request))
    body = to_csv(
        [t("csv." + c) for c in CSV_COLUMNS],
        (
            [
                clock.datetime(r.at_ms / 1000),
                r.gate_name or r.gate,
                "granted" if r.granted else ("alarm" if r.kind == "alarm" else "denied"),
                r.reason,
                r.label,
                mask_name(r.holder_name),
                r.pass_kind,
                r.body_c,
                r.pass_ref,
                r.event_id,
            ]
            for r in rows
        ),
    )
    headers = {"Content-Disposition": 'attachment; filename="events.csv"'}
    return Response(body, media_type="text/csv; charset=utf-8", headers=headers)


@router.get("/ui/audit")
async def audit_log(
    *, request: Request, env: EnvDep, actor: AdminPage, action: str = "", by: str = "", p: int = 1
) -> Response:
    """The audit log (admins): who did what, when, from where."""
    rows, total = await audit.audit_log(
        env, actor, page_of(p, descending=True), action=action[:40] or None, by=by[:64] or None
    )
    return page(
        request,
        "audit.html",
        rows=rows,
        total=total,
        action=action[:40],
        by=by[:64],
        p=p,
        pages=pages(total),
    )
