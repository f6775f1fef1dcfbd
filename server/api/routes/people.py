"""Residents and visitors: search, CRUD, home observation, phone reveal, export and erasure."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from fastapi import APIRouter, Query

from server.api.models.common import PageOut
from server.api.models.people import (
    ErasureOut,
    ObservationIn,
    PhoneOut,
    ResidentIn,
    ResidentOut,
    ResidentPatch,
    RevealIn,
    VisitorIn,
    VisitorOut,
    VisitorRegistered,
)
from server.api.types import IdPath, PageNo, PageSize, SearchText
from server.http.deps import AdminDep, EnvDep, StaffDep
from server.records import JSONObject
from server.services.paging import Page
from server.services.privacy import subjects as privacy
from server.services.registry import residents, visitors

router = APIRouter(prefix="/api/v1", tags=["people"])
OptionalId = Annotated[int | None, Query(ge=1, le=2**31 - 1)]


@router.get("/residents")
async def search_residents(
    *,
    env: EnvDep,
    actor: StaffDep,
    q: SearchText = None,
    phone: SearchText = None,
    household_id: OptionalId = None,
    status: Literal["normal", "home_observation", "moved_out"] | None = None,
    page: PageNo = 1,
    size: PageSize = 50,
    sort: Literal["id", "name", "household", "status", "updated"] = "id",
    desc: bool = False,
) -> PageOut[ResidentOut]:
    """Residents in scope; ``q`` matches names literally, ``phone`` the whole number."""
    request = Page.request(page, size, sort=sort, descending=desc)
    rows, total = await residents.search(
        env, actor, request, text=q, phone=phone, household_id=household_id, status=status
    )
    items = [ResidentOut.model_validate(r) for r in rows]
    return PageOut[ResidentOut](items=items, total=total, page=page, size=request.size)


@router.get("/residents/{resident_id}")
async def get_resident(resident_id: IdPath, env: EnvDep, actor: StaffDep) -> ResidentOut:
    """One resident, phone masked."""
    return ResidentOut.model_validate(await residents.get(env, actor, resident_id))


@router.post("/residents", status_code=201)
async def create_resident(body: ResidentIn, env: EnvDep, actor: AdminDep) -> ResidentOut:
    """Register a resident."""
    fields = residents.ResidentFields(**body.model_dump())
    return ResidentOut.model_validate(await residents.save(env, actor, None, fields))


@router.patch("/residents/{resident_id}")
async def update_resident(
    resident_id: IdPath, body: ResidentPatch, env: EnvDep, actor: AdminDep
) -> ResidentOut:
    """Change a resident."""
    values = body.model_dump(exclude_unset=True)  # left out: kept; phone or note null: cleared
    values = {k: v for k, v in values.items() if v is not None or k in {"phone", "note"}}
    fields = residents.ResidentFields(**values)
    return ResidentOut.model_validate(await residents.save(env, actor, resident_id, fields))


@router.delete("/residents/{resident_id}")
async def erase_resident(resident_id: IdPath, env: EnvDep, actor: AdminDep) -> ErasureOut:
    """Erase a resident's personal data and revoke their passes; returns the receipt."""
    return ErasureOut.model_validate(await privacy.erase_resident(env, actor, resident_id))


@router.get("/residents/{resident_id}/export")
async def export_resident(resident_id: IdPath, env: EnvDep, actor: AdminDep) -> JSONObject:
    """Everything held about one resident, machine-readable (audited)."""
    export: JSONObject = msgspec.to_builtins(await privacy.export_resident(env, actor, resident_id))
    return export


@router.post("/residents/{resident_id}/reveal-phone")
async def reveal_phone(
    resident_id: IdPath, body: RevealIn, env: EnvDep, actor: AdminDep
) -> PhoneOut:
    """The full phone number, with an audit row of who and why."""
    return PhoneOut(phone=await residents.reveal_phone(env, actor, resident_id, body.reason))


@router.put("/residents/{resident_id}/observation")
async def set_observation(
    resident_id: IdPath, body: ObservationIn, env: EnvDep, actor: StaffDep
) -> ResidentOut:
    """Start, change or end home observation (holds the resident's passes at exit lanes)."""
    row = await residents.set_observation(
        env, actor, resident_id, status=body.status, start=body.start, end=body.end
    )
    return ResidentOut.model_validate(row)


@router.get("/visitors")
async def search_visitors(
    *,
    env: EnvDep,
    actor: StaffDep,
    q: SearchText = None,
    host_household_id: OptionalId = None,
    page: PageNo = 1,
    size: PageSize = 50,
    sort: Literal["id", "valid_until", "name"] = "id",
    desc: bool = False,
) -> PageOut[VisitorOut]:
    """Visitors whose hosts are in scope."""
    request = Page.request(page, size, sort=sort, descending=desc)
    rows, total = await visitors.search(
        env, actor, request, host_household_id=host_household_id, text=q
    )
    items = [VisitorOut.model_validate(r) for r in rows]
    return PageOut[VisitorOut](items=items, total=total, page=page, size=request.size)


@router.get("/visitors/{visitor_id}")
async def get_visitor(visitor_id: IdPath, env: EnvDep, actor: StaffDep) -> VisitorOut:
    """One visitor, phone masked."""
    return VisitorOut.model_validate(await visitors.get(env, actor, visitor_id))


@router.post("/visitors", status_code=201)
async def register_visitor(body: VisitorIn, env: EnvDep, actor: StaffDep) -> VisitorRegistered:
    """Register a visitor and issue their pass (valid ``hours``, ``uses`` entries)."""
    visitor, issued = await visitors.register(env, actor, **body.model_dump())
    return VisitorRegistered.model_validate({"visitor": visitor, "pass": issued})
