"""Home-observation follow-up: today's call list, overdue calls first, and recording a call."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from server.http.deps import EnvDep
from server.services.errors import Invalid
from server.services.registry import followup
from server.web.format import Clockface
from server.web.guard import PageRoute, StaffPage
from server.web.render import page

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.get("/ui/followup")
async def call_list(*, request: Request, env: EnvDep, actor: StaffPage) -> Response:
    """Everyone to call today, with days of observation left and today's calls."""
    day = Clockface(env.settings.card_utc_offset_min).day_start(env.clock.now())
    items = await followup.call_list(env, actor, day_start=day)
    return page(
        request,
        "followup.html",
        items=items,
        symptoms=followup.SYMPTOMS,
        overdue=sum(1 for i in items if i.overdue),
        due=sum(1 for i in items if i.due),
    )


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
