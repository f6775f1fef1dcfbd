"""The visitor desk: register a visitor for a host household, show the temporary pass as a QR
on screen (printable as a card), and list today's visitors."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from server.http.deps import EnvDep
from server.services.context import Actor, Env
from server.services.errors import NotFound, ServiceError
from server.services.paging import Page
from server.services.passes import listing as pass_listing
from server.services.passes import locks as pass_locks
from server.services.registry import lookup, visitors
from server.services.text import TextError
from server.web.format import Clockface
from server.web.guard import PageRoute, StaffPage
from server.web.render import page

router = APIRouter(route_class=PageRoute, include_in_schema=False)
Field = Annotated[str, Form(max_length=200)]
HOURS = (2, 4, 8, 12, 24)
PURPOSES = ("family", "delivery", "repair", "care", "other")
EMPTY_FORM = {"host": "", "name": "", "phone": "", "purpose": "", "hours": 4}


async def _desk(
    request: Request,
    env: Env,
    actor: Actor,
    *,
    status: int = 200,
    form: dict[str, Any] | None = None,
    detail: str | None = None,
) -> Response:
    day = Clockface(env.settings.card_utc_offset_min).day_start(env.clock.now())
    today = await lookup.visitors_since(env, actor, day)
    hours = [h for h in HOURS if h <= env.settings.visitor_max_hours]
    return page(
        request,
        "visitors.html",
        status=status,
        today=today,
        hours=hours,
        purposes=PURPOSES,
        form=form or EMPTY_FORM,
        detail=detail,
    )


@router.get("/ui/visitors")
async def desk(*, request: Request, env: EnvDep, actor: StaffPage) -> Response:
    """The registration form and today's visitors."""
    return await _desk(request, env, actor)


@router.post("/ui/visitors")
async def register(
    *,
    request: Request,
    env: EnvDep,
    actor: StaffPage,
    host: Field,
    name: Field,
    phone: Field,
    purpose: Field,
    hours: Annotated[int, Form(ge=1, le=72)],
    uses: Annotated[int, Form(ge=1, le=20)] = 2,
) -> Response:
    """Register the visitor and show their pass; a mistake keeps the form filled in."""
    form = {"host": host, "name": name, "phone": phone, "purpose": purpose, "hours": hours}
    try:
        household = await lookup.household_by_label(env, actor, host)
        visitor, _ = await visitors.register(
            env,
            actor,
            host_household_id=household.id,
            name=name,
            phone=phone,
            purpose=purpose,
            hours=hours,
            uses=uses,
        )
    except (ServiceError, TextError) as exc:
        status = 404 if isinstance(exc, NotFound) else 422
        return await _desk(request, env, actor, status=status, form=form, detail=str(exc))
    return RedirectResponse(f"/ui/visitors/{visitor.id}", status_code=303)


@router.get("/ui/visitors/{visitor_id}")
async def visitor_pass(
    *, request: Request, env: EnvDep, actor: StaffPage, visitor_id: int
) -> Response:
    """The visitor's pass as a large QR code, with a printable card."""
    visitor = await visitors.get(env, actor, visitor_id)
    held, _ = await pass_listing.search(
        env, actor, Page(1, 10, "id", True), {"visitor_id": visitor_id}, active_only=False
    )
    locked = await pass_locks.locked_refs(env, actor, [p.ref for p in held])
    return page(request, "visitor.html", v=visitor, passes=held, locked=locked)
