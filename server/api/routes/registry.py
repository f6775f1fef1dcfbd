"""Zones, gates and households: thin routes over server.services.registry.places and passes."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from server.api.models.common import PageOut
from server.api.models.passes import CountOut
from server.api.models.registry import (
    CutoffIn,
    GateIn,
    GateOut,
    GatePatch,
    HoldIn,
    HouseholdIn,
    HouseholdOut,
    HouseholdPatch,
    ZoneIn,
    ZoneOut,
    ZonePatch,
)
from server.api.types import IdPath, PageNo, PageSize, SearchText
from server.http.deps import AdminDep, EnvDep, StaffDep
from server.services.paging import Page
from server.services.passes import issuing as passes
from server.services.registry import places as registry

router = APIRouter(prefix="/api/v1", tags=["registry"])
GateIdPath = Annotated[str, Path(min_length=1, max_length=32)]


@router.get("/zones")
async def list_zones(env: EnvDep, actor: StaffDep) -> list[ZoneOut]:
    """Zones in the caller's scope."""
    return [ZoneOut.model_validate(z) for z in await registry.list_zones(env, actor)]


@router.post("/zones", status_code=201)
async def create_zone(body: ZoneIn, env: EnvDep, actor: AdminDep) -> ZoneOut:
    """Add a zone."""
    return ZoneOut.model_validate(await registry.create_zone(env, actor, body.id, body.name))


@router.patch("/zones/{zone_id}")
async def update_zone(zone_id: IdPath, body: ZonePatch, env: EnvDep, actor: AdminDep) -> ZoneOut:
    """Rename a zone."""
    return ZoneOut.model_validate(await registry.update_zone(env, actor, zone_id, body.name))


@router.delete("/zones/{zone_id}", status_code=204)
async def delete_zone(zone_id: IdPath, env: EnvDep, actor: AdminDep) -> None:
    """Delete an empty zone."""
    await registry.delete_zone(env, actor, zone_id)


@router.get("/gates")
async def list_gates(env: EnvDep, actor: StaffDep) -> list[GateOut]:
    """Gates in the caller's scope."""
    return [GateOut.model_validate(g) for g in await registry.list_gates(env, actor)]


@router.post("/gates", status_code=201)
async def create_gate(body: GateIn, env: EnvDep, actor: AdminDep) -> GateOut:
    """Add a gate (lane)."""
    fields = registry.GateFields(
        zone_id=body.zone_id, name=body.name, direction=body.direction.value
    )
    return GateOut.model_validate(
        await registry.save_gate(env, actor, body.id, fields, create=True)
    )


@router.patch("/gates/{gate_id}")
async def update_gate(
    gate_id: GateIdPath, body: GatePatch, env: EnvDep, actor: AdminDep
) -> GateOut:
    """Change a gate."""
    direction = None if body.direction is None else body.direction.value
    fields = registry.GateFields(zone_id=body.zone_id, name=body.name, direction=direction)
    return GateOut.model_validate(
        await registry.save_gate(env, actor, gate_id, fields, create=False)
    )


@router.delete("/gates/{gate_id}", status_code=204)
async def delete_gate(gate_id: GateIdPath, env: EnvDep, actor: AdminDep) -> None:
    """Remove a gate."""
    await registry.delete_gate(env, actor, gate_id)


@router.get("/households")
async def search_households(
    *,
    env: EnvDep,
    actor: StaffDep,
    q: SearchText = None,
    building: SearchText = None,
    zone_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    page: PageNo = 1,
    size: PageSize = 50,
    sort: Literal["id", "building", "label", "zone"] = "id",
    desc: bool = False,
) -> PageOut[HouseholdOut]:
    """Households in scope; ``q`` matches the unit label literally."""
    request = Page.request(page, size, sort=sort, descending=desc)
    rows, total = await registry.search_households(
        env, actor, request, text=q, building=building, zone_id=zone_id
    )
    items = [HouseholdOut.model_validate(r) for r in rows]
    return PageOut[HouseholdOut](items=items, total=total, page=page, size=request.size)


@router.get("/households/{household_id}")
async def get_household(household_id: IdPath, env: EnvDep, actor: StaffDep) -> HouseholdOut:
    """One household."""
    return HouseholdOut.model_validate(await registry.get_household(env, actor, household_id))


@router.post("/households", status_code=201)
async def create_household(body: HouseholdIn, env: EnvDep, actor: AdminDep) -> HouseholdOut:
    """Add a household."""
    return HouseholdOut.model_validate(
        await registry.save_household(env, actor, None, _household_fields(body))
    )


@router.patch("/households/{household_id}")
async def update_household(
    household_id: IdPath, body: HouseholdPatch, env: EnvDep, actor: AdminDep
) -> HouseholdOut:
    """Change a household."""
    return HouseholdOut.model_validate(
        await registry.save_household(env, actor, household_id, _household_fields(body))
    )


def _household_fields(body: HouseholdIn | HouseholdPatch) -> registry.HouseholdFields:
    """A household request as the service takes it (None leaves a field as it is)."""
    return registry.HouseholdFields(
        zone_id=body.zone_id, building=body.building, unit=body.unit, room=body.room
    )


@router.delete("/households/{household_id}", status_code=204)
async def delete_household(household_id: IdPath, env: EnvDep, actor: AdminDep) -> None:
    """Delete a household without residents or live passes."""
    await registry.delete_household(env, actor, household_id)


@router.put("/households/{household_id}/hold")
async def set_hold(
    household_id: IdPath, body: HoldIn, env: EnvDep, actor: StaffDep
) -> HouseholdOut:
    """Home observation for the whole household (exit lanes deny its passes until then)."""
    return HouseholdOut.model_validate(
        await registry.set_household_hold(env, actor, household_id, body.until)
    )


@router.post("/households/{household_id}/cutoff")
async def cutoff(household_id: IdPath, body: CutoffIn, env: EnvDep, actor: AdminDep) -> CountOut:
    """Kill every pass of the household issued until now; returns how many were live."""
    return CountOut(count=await passes.cutoff_household(env, actor, household_id, body.reason))
