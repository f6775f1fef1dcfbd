"""Residents: search, detail, create and edit, home observation, audited phone reveal,
export and erasure (admins)."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from server.http.deps import EnvDep
from server.services.changes import KEEP
from server.services.context import Actor, Env
from server.services.errors import Forbidden, Invalid
from server.services.paging import Page
from server.services.passes import listing as pass_listing
from server.services.passes import locks as pass_locks
from server.services.privacy import subjects as privacy
from server.services.registry import history, lookup, residents
from server.services.registry import places as registry
from server.web.format import Clockface
from server.web.forms import local_date, page_of, pages
from server.web.guard import AdminPage, PageRoute, StaffPage
from server.web.render import page

router = APIRouter(route_class=PageRoute, include_in_schema=False)
Field = Annotated[str, Form(max_length=600)]
STATUSES = ("normal", "home_observation", "moved_out")  # moved_out: gone at an import
_PHONE_REFUSED = {  # refused because Forbidden: (message, status)
    False: ("residents.phone_digits", 422),
    True: ("residents.phone_admin_only", 403),
}


@router.get("/ui/residents")
async def search(
    *, request: Request, env: EnvDep, actor: StaffPage, q: str = "", status: str = "", p: int = 1
) -> Response:
    """Search by name, unit label or phone digits (as staff see them, masked); a refused phone
    search shows the search page again, saying what to type instead."""
    refused, code = None, 200
    try:
        rows, total = await lookup.find_residents(
            env, actor, page_of(p), q[:64], status=status if status in STATUSES else None
        )
    except (Invalid, Forbidden) as exc:
        rows, total = [], 0
        refused, code = _PHONE_REFUSED[isinstance(exc, Forbidden)]
    return page(
        request,
        "residents.html",
        status=code,
        rows=rows,
        total=total,
        q=q[:64],
        status_filter=status,
        refused=refused,
        p=p,
        pages=pages(total),
    )


async def detail_context(env: Env, actor: Actor, resident_id: int, p: int = 1) -> dict[str, Any]:
    """The resident, their household, housemates, passes and history (gate events paged)."""
    resident = await residents.get(env, actor, resident_id)
    p = max(1, p)
    past = await history.history(env, actor, resident_id, page_of(p, sort="at_ms", descending=True))
    lanes = {g.id: g.name for g in await registry.list_gates(env, actor)}
    household = await registry.get_household(env, actor, resident.household_id)
    mates, _ = await residents.search(env, actor, Page(1, 50), household_id=household.id)
    held, _ = await pass_listing.search(
        env, actor, Page(1, 50, "id", True), {"resident_id": resident_id}, active_only=False
    )
    return {
        "r": resident,
        "household": household,
        "mates": mates,
        "passes": held,
        "locked": await pass_locks.locked_refs(env, actor, [p.ref for p in held]),
        "revealed": None,
        "confirm_needed": False,
        "history": past,
        "lanes": lanes,
        "p": p,
        "pages": pages(past.total),
    }


@router.get("/ui/residents/{resident_id}")
async def detail(
    *, request: Request, env: EnvDep, actor: StaffPage, resident_id: int, p: int = 1
) -> Response:
    """One resident, with one page of their gate history (newest first)."""
    context = await detail_context(env, actor, resident_id, p)
    return page(request, "resident.html", **context)


@router.post("/ui/residents/{resident_id}/observation")
async def observation(
    *,
    request: Request,
    env: EnvDep,
    actor: StaffPage,
    resident_id: int,
    status: Annotated[str, Form(max_length=20)],
    start: Field = "",
    end: Field = "",
) -> Response:
    """Set or end home observation (dates in the site's local time; the end day is included)."""
    clock = Clockface(env.settings.card_utc_offset_min)
    await residents.set_observation(
        env,
        actor,
        resident_id,
        status=status,
        start=local_date(clock, start, field="start") or env.clock.now(),
        end=local_date(clock, end, field="end", end_of_day=True),
    )
    return RedirectResponse(f"/ui/residents/{resident_id}", status_code=303)


@router.post("/ui/residents/{resident_id}/reveal")
async def reveal(
    *, request: Request, env: EnvDep, actor: AdminPage, resident_id: int, reason: Field
) -> Response:
    """Show the full phone number once, with the reason in the audit log (admins)."""
    context = await detail_context(env, actor, resident_id)
    context["revealed"] = await residents.reveal_phone(env, actor, resident_id, reason)
    return page(request, "resident.html", **context)


@router.get("/ui/residents/{resident_id}/edit")
async def edit_form(
    *, request: Request, env: EnvDep, actor: AdminPage, resident_id: int
) -> Response:
    """Change a resident's name, phone, role or note (admins)."""
    return page(
        request,
        "resident_edit.html",
        r=await residents.get(env, actor, resident_id),
        household=None,
    )


@router.get("/ui/households/{household_id}/new-resident")
async def new_form(
    *, request: Request, env: EnvDep, actor: AdminPage, household_id: int
) -> Response:
    """Register a new resident in a household (admins)."""
    household = await registry.get_household(env, actor, household_id)
    return page(request, "resident_edit.html", r=None, household=household)


def _fields(name: str, phone: str, role: str, note: str) -> residents.ResidentFields:
    """The form's fields; an empty phone field keeps the number on file."""
    return residents.ResidentFields(
        name=name, phone=phone.strip() or KEEP, role=role, note=note or None
    )


@router.post("/ui/residents/{resident_id}/edit")
async def save(
    *,
    request: Request,
    env: EnvDep,
    actor: AdminPage,
    resident_id: int,
    name: Field,
    role: Field,
    phone: Field = "",
    note: Field = "",
) -> Response:
    """Save a resident's changes; an empty phone field keeps the number on file."""
    await residents.save(env, actor, resident_id, _fields(name, phone, role, note))
    return RedirectResponse(f"/ui/residents/{resident_id}", status_code=303)


@router.post("/ui/households/{household_id}/new-resident")
async def create(
    *,
    request: Request,
    env: EnvDep,
    actor: AdminPage,
    household_id: int,
    name: Field,
    role: Field,
    phone: Field = "",
    note: Field = "",
) -> Response:
    """Add the resident and go to their page."""
    fields = dataclasses.replace(_fields(name, phone, role, note), household_id=household_id)
    row = await residents.save(env, actor, None, fields)
    return RedirectResponse(f"/ui/residents/{row.id}", status_code=303)


@router.post("/ui/residents/{resident_id}/delete")
async def erase(
    *,
    request: Request,
    env: EnvDep,
    actor: AdminPage,
    resident_id: int,
    confirm: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Erase a resident's personal data (admins; needs the confirmation box ticked)."""
    if confirm != "yes":
        context = await detail_context(env, actor, resident_id)
        return page(request, "resident.html", status=422, **{**context, "confirm_needed": True})
    receipt = await privacy.erase_resident(env, actor, resident_id)
    return page(request, "erased.html", receipt=receipt)
