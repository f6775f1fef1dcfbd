"""The follow-up desk: today's call list (overdue first), full numbers for callers after they
state the day's purpose, who ends observation today, recording a call, and the street office's
daily XLSX sheet."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from server.http.deps import EnvDep
from server.services.errors import Invalid
from server.services.registry import desk, followup
from server.web.format import Clockface
from server.web.guard import PageRoute, StaffPage
from server.web.i18n import Translator
from server.web.render import language_of, page
from server.web.xlsxout import XLSX_TYPE, to_xlsx

router = APIRouter(route_class=PageRoute, include_in_schema=False)
Purpose = Annotated[str, Form(max_length=32)]
EXPORT_COLUMNS = ("name", "unit", "phone", "period", "temperature", "reached", "note")


def _clock(env: EnvDep) -> Clockface:
    return Clockface(env.settings.card_utc_offset_min)


@router.get("/ui/followup")
async def call_list(*, request: Request, env: EnvDep, actor: StaffPage) -> Response:
    """Everyone to call today, with the observation's dates and today's calls."""
    day = _clock(env).day_start(env.clock.now())
    view = await desk.desk(env, actor, day_start=day)
    items = [line.item for line in view.lines]
    return page(
        request,
        "followup.html",
        desk=view,
        purposes=desk.PURPOSES,
        symptoms=followup.SYMPTOMS,
        total=len(items),
        overdue=sum(1 for i in items if i.overdue),
        due=sum(1 for i in items if i.due),
    )


@router.post("/ui/followup/purpose")
async def state_purpose(
    *, request: Request, env: EnvDep, actor: StaffPage, purpose: Purpose
) -> Response:
    """A caller states today's purpose (audited); the list then shows their full numbers."""
    day = _clock(env).day_start(env.clock.now())
    await desk.state_purpose(env, actor, purpose, day_start=day)
    return RedirectResponse("/ui/followup", status_code=303)


def _period(t: Translator, clock: Clockface, row: desk.ExportRow) -> str:
    end = clock.date(row.end - 1) if row.end is not None else t("common.open_ended")
    return t("desk.period", start=clock.date(row.start) or "—", end=end)


def _reached(t: Translator, reached: bool | None) -> str:
    if reached is None:
        return t("desk.not_called")
    return t("desk.yes") if reached else t("desk.no")


def _sheet(t: Translator, clock: Clockface, rows: list[desk.ExportRow], day: int) -> bytes:
    body = [
        [
            r.name,
            r.label,
            r.phone,
            _period(t, clock, r),
            r.temperature_c,
            _reached(t, r.reached),
            r.note,
        ]
        for r in rows
    ]
    header = [t("desk.col." + c) for c in EXPORT_COLUMNS]
    return to_xlsx(clock.date(day), header, body)


@router.post("/ui/followup/export.xlsx")
async def export(*, request: Request, env: EnvDep, actor: StaffPage, purpose: Purpose) -> Response:
    """Today's sheet for the street office (callers and admins, their zones; audited)."""
    clock = _clock(env)
    day = clock.day_start(env.clock.now())
    rows = await desk.export_rows(env, actor, purpose, day_start=day)
    t = Translator(language_of(request))
    body = await asyncio.to_thread(_sheet, t, clock, rows, day)
    name = f"followup-{clock.date(day)}.xlsx"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(body, media_type=XLSX_TYPE, headers=headers)


def _temperature(text: str) -> float | None:
    text = text.strip().replace(",", ".")
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise Invalid("temperature: not a number") from None


@router.post("/ui/followup/{resident_id}")
async def record(
    *,
    request: Request,
    env: EnvDep,
    actor: StaffPage,
    resident_id: int,
    outcome: Annotated[str, Form(max_length=16)],
    temperature: Annotated[str, Form(max_length=8)] = "",
    symptoms: Annotated[list[str] | None, Form(max_length=32)] = None,
    note: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Record one call: reached or not, reported temperature, symptoms and a note."""
    if outcome not in ("reached", "not_reached"):
        raise Invalid("outcome must be reached or not_reached")
    await followup.record_call(
        env,
        actor,
        resident_id,
        reached=outcome == "reached",
        temperature_c=_temperature(temperature),
        symptoms=symptoms or [],
        note=note,
    )
    return RedirectResponse(f"/ui/followup#r{resident_id}", status_code=303)
