"""The event log (filter by lane, time, reason and decision; CSV export) and the audit log."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response

from protocol.reasons import ReasonCode
from server.http.deps import EnvDep
from server.records import EventView
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
# the CSV's headings (catalog keys): the words of the page, not the stored codes (issue 17 item 8)
CSV_COLUMNS = (
    "csv.time",
    "csv.lane",
    "exports.direction",
    "csv.decision",
    "exports.reason",
    "csv.unit",
    "csv.name",
    "csv.kind",
    "csv.temperature",
    "csv.pass_ref",
    "csv.event_id",
)
FULL_NAMES_REASON_MAX = 200


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


def _word(t: Translator, table: str, code: str | None) -> str:
    """A code as the page shows it (an unknown code as itself, so nothing is lost)."""
    if code is None:
        return ""
    return t(f"{table}.{code}") if t.has(f"{table}.{code}") else code


def _decision(t: Translator, r: EventView) -> str:
    if r.granted:
        return t("decision.granted")
    return t("decision.alarm") if r.kind == "alarm" else t("decision.denied")


def _csv_rows(
    t: Translator, clock: Clockface, rows: list[EventView], *, full_names: bool
) -> Iterator[list[object]]:
    for r in rows:
        yield [
            clock.datetime(r.at_ms / 1000),
            r.gate_name or r.gate,
            _word(t, "direction", r.direction),
            _decision(t, r),
            _word(t, "alarms", r.alarm) if r.kind == "alarm" else _word(t, "reasons", r.reason),
            r.label,
            r.holder_name if full_names else mask_name(r.holder_name),
            _word(t, "kinds", r.pass_kind or r.holder_kind),
            r.body_c,
            r.pass_ref,
            r.event_id,
        ]


def _csv_response(
    request: Request, clock: Clockface, rows: list[EventView], *, full_names: bool
) -> Response:
    t = Translator(language_of(request))
    body = to_csv([t(c) for c in CSV_COLUMNS], _csv_rows(t, clock, rows, full_names=full_names))
    name = "events-full-names.csv" if full_names else "events.csv"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(body, media_type="text/csv; charset=utf-8", headers=headers)


@router.get("/ui/events.csv")
async def event_csv(*, request: Request, env: EnvDep, actor: StaffPage) -> Response:
    """The same filter as a CSV file in the reader's words (names masked; formula-looking
    text neutralised)."""
    clock = Clockface(env.settings.card_utc_offset_min)
    rows = await reports.export(env, actor, _filter(clock, _query(request)))
    return _csv_response(request, clock, rows, full_names=False)


@router.post("/ui/events/full-names.csv")
async def event_csv_full_names(
    *,
    request: Request,
    env: EnvDep,
    actor: AdminPage,
    reason: Annotated[str, Form(max_length=FULL_NAMES_REASON_MAX)] = "",
    gate: Annotated[str, Form(max_length=32)] = "",
    since: Annotated[str, Form(max_length=32)] = "",
    until: Annotated[str, Form(max_length=32)] = "",
    event_reason: Annotated[str, Form(max_length=32)] = "",
    decision: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    """The CSV with full names (admins), for a stated reason that goes to the audit log with
    the filter and the number of rows."""
    clock = Clockface(env.settings.card_utc_offset_min)
    q = {"gate": gate, "since": since, "until": until, "reason": event_reason}
    where = _filter(clock, q | {"decision": decision})
    rows = await reports.export_full_names(env, actor, where, reason=reason, filters=q)
    return _csv_response(request, clock, rows, full_names=True)


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
