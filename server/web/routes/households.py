"""Households and passes: the household page (members, whole-household observation, cards),
and issuing, renewing, revoking and unlocking passes."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from server.http.deps import EnvDep
from server.records import Pass
from server.services.incidents import refusals as refusal_service
from server.services.paging import Page
from server.services.passes import issuing as passes
from server.services.passes import listing as pass_listing
from server.services.passes import locks as pass_locks
from server.services.registry import places as registry
from server.services.registry import residents
from server.web.format import Clockface
from server.web.forms import local_date
from server.web.guard import AdminPage, PageRoute, StaffPage
from server.web.render import page

router = APIRouter(route_class=PageRoute, include_in_schema=False)
_CONSOLE = re.compile(r"/ui/console/[a-z0-9-]{1,32}")
Field = Annotated[str, Form(max_length=200)]


@router.get("/ui/households/{household_id}")
async def household(
    *, request: Request, env: EnvDep, actor: StaffPage, household_id: int
) -> Response:
    """A household with its members and their live passes."""
    row = await registry.get_household(env, actor, household_id)
    members, _ = await residents.search(env, actor, Page(1, 50), household_id=household_id)
    held, _ = await pass_listing.search(
        env, actor, Page(1, 100, "id", True), {"household_id": household_id}, active_only=True
    )
    locked = await pass_locks.locked_refs(env, actor, [p.ref for p in held])
    refused, refused_total = await refusal_service.of_household(env, actor, household_id)
    return page(
        request,
        "household.html",
        household=row,
        members=members,
        passes=held,
        locked=locked,
        refusals=refused,
        refusals_total=refused_total,
    )


@router.post("/ui/households/{household_id}/hold")
async def hold(
    *, request: Request, env: EnvDep, actor: StaffPage, household_id: int, until: Field = ""
) -> Response:
    """Put the whole household under home observation to the end of ``until`` (empty: end it)."""
    clock = Clockface(env.settings.card_utc_offset_min)
    end = local_date(clock, until, field="until", end_of_day=True)
    await registry.set_household_hold(env, actor, household_id, end)
    return RedirectResponse(f"/ui/households/{household_id}", status_code=303)


@router.post("/ui/residents/{resident_id}/passes")
async def issue(*, request: Request, env: EnvDep, actor: AdminPage, resident_id: int) -> Response:
    """Issue a resident's pass (admins)."""
    await passes.issue_resident(env, actor, resident_id)
    return RedirectResponse(f"/ui/residents/{resident_id}", status_code=303)


@router.post("/ui/passes/{pass_id}/renew")
async def renew(*, request: Request, env: EnvDep, actor: AdminPage, pass_id: int) -> Response:
    """Replace a pass with a fresh one (the old one is revoked)."""
    new = await passes.renew(env, actor, pass_id)
    return RedirectResponse(_holder_page(new), status_code=303)


@router.post("/ui/passes/{pass_id}/revoke")
async def revoke(
    *, request: Request, env: EnvDep, actor: StaffPage, pass_id: int, reason: Field
) -> Response:
    """Revoke a pass with a reason (staff: visitor passes only, as in the API)."""
    row = await pass_listing.get(env, actor, pass_id)
    await passes.revoke(env, actor, [pass_id], reason.strip() or "revoked at the desk")
    return RedirectResponse(_holder_page(row), status_code=303)


@router.post("/ui/passes/{ref}/unlock")
async def unlock(
    *, request: Request, env: EnvDep, actor: StaffPage, ref: str, note: Field = "", back: Field = ""
) -> Response:
    """Clear a pass's lock after wrong phone digits (staff of its zone) with the reason they
    must give (the ID check); every lane hears it."""
    row = await pass_locks.holder_of(env, actor, ref)
    await pass_locks.unlock(env, actor, ref, note)
    if back == "dashboard":
        return RedirectResponse("/ui/", status_code=303)
    if _CONSOLE.fullmatch(back):  # the lane's console the scan was seen on
        return RedirectResponse(back, status_code=303)
    return RedirectResponse(_holder_page(row), status_code=303)


def _holder_page(row: Pass) -> str:
    if row.resident_id:
        return f"/ui/residents/{row.resident_id}"
    if row.visitor_id:
        return f"/ui/visitors/{row.visitor_id}"
    return "/ui/residents"
