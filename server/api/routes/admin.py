"""Admin routes: staff accounts, keys, the revocation list summary, the audit log, retention."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from server.api.models.common import PageOut
from server.api.models.passes import KeyOut, RetireOut, RevocationOut, RotateIn
from server.api.models.staff import (
    AuditOut,
    CallerZonesIn,
    CallerZonesOut,
    OneTimePassword,
    RetentionOut,
    StaffCreated,
    StaffIn,
    StaffOut,
    StaffPatch,
)
from server.api.types import MAX_TIME, IdPath, PageNo, PageSize, SearchText
from server.http.deps import AdminDep, EnvDep
from server.services import audit
from server.services.changes import KEEP
from server.services.paging import Page
from server.services.passes import key_admin
from server.services.privacy import retention
from server.services.staff import accounts as staff
from server.services.staff import callers

router = APIRouter(prefix="/api/v1", tags=["admin"])
KidPath = Annotated[str, Path(pattern=r"^[0-9a-f]{8}$")]


@router.get("/staff")
async def list_staff(env: EnvDep, actor: AdminDep) -> list[StaffOut]:
    """Every staff account."""
    return [StaffOut.model_validate(r) for r in await staff.list_all(env, actor)]


@router.get("/staff/{staff_id}")
async def get_staff(staff_id: IdPath, env: EnvDep, actor: AdminDep) -> StaffOut:
    """One staff account."""
    return StaffOut.model_validate(await staff.get(env, actor, staff_id))


@router.post("/staff", status_code=201)
async def create_staff(body: StaffIn, env: EnvDep, actor: AdminDep) -> StaffCreated:
    """Add an account; its one-time password is in the answer, once."""
    row, password = await staff.create(env, actor, **body.model_dump())
    return StaffCreated(staff=StaffOut.model_validate(row), one_time_password=password)


@router.patch("/staff/{staff_id}")
async def update_staff(
    staff_id: IdPath, body: StaffPatch, env: EnvDep, actor: AdminDep
) -> StaffOut:
    """Change role, zone scope, name or active flag (ends the account's sessions)."""
    changes = staff.StaffChanges(
        role=body.role,
        display_name=body.display_name,
        active=body.active,
        zone_scope=body.zone_scope if "zone_scope" in body.model_fields_set else KEEP,
    )
    return StaffOut.model_validate(await staff.update(env, actor, staff_id, changes))


@router.post("/staff/{staff_id}/reset-password")
async def reset_password(staff_id: IdPath, env: EnvDep, actor: AdminDep) -> OneTimePassword:
    """A new one-time password for an account, shown once."""
    return OneTimePassword(one_time_password=await staff.reset_password(env, actor, staff_id))


@router.get("/staff/{staff_id}/caller-zones")
async def get_caller_zones(staff_id: IdPath, env: EnvDep, actor: AdminDep) -> CallerZonesOut:
    """The zones in which the account is a follow-up caller."""
    zones = await callers.get_zones(env, actor, staff_id)
    return CallerZonesOut(staff_id=staff_id, zones=zones)


@router.put("/staff/{staff_id}/caller-zones")
async def set_caller_zones(
    staff_id: IdPath, body: CallerZonesIn, env: EnvDep, actor: AdminDep
) -> CallerZonesOut:
    """Mark the account a follow-up caller in these of its zones (empty: not a caller)."""
    zones = await callers.set_zones(env, actor, staff_id, body.zones)
    return CallerZonesOut(staff_id=staff_id, zones=zones)


@router.get("/keys")
async def list_keys(env: EnvDep, actor: AdminDep) -> list[KeyOut]:
    """Signing keys and their windows."""
    return [KeyOut.model_validate(r) for r in await key_admin.list_keys(env, actor)]


@router.post("/keys/rotate", status_code=201)
async def rotate_key(body: RotateIn, env: EnvDep, actor: AdminDep) -> KeyOut:
    """Announce a new key on the manifest now; it starts signing after the lead time."""
    return KeyOut.model_validate(await key_admin.rotate_key(env, actor, body.use))


@router.post("/keys/{kid}/retire")
async def retire_key(kid: KidPath, env: EnvDep, actor: AdminDep) -> RetireOut:
    """Take a key off the manifest (compromise): its passes die as gates sync."""
    return RetireOut(kid=kid, passes_killed=await key_admin.retire_key(env, actor, kid))


@router.get("/revocations")
async def revocations(env: EnvDep, actor: AdminDep) -> RevocationOut:
    """The current revocation list in numbers."""
    return RevocationOut.model_validate(await key_admin.revocation_summary(env, actor))


@router.get("/audit")
async def audit_log(
    *,
    env: EnvDep,
    actor: AdminDep,
    action: SearchText = None,
    actor_name: SearchText = None,
    since: Annotated[int | None, Query(ge=0, le=MAX_TIME)] = None,
    page: PageNo = 1,
    size: PageSize = 50,
    sort: Literal["id", "at", "action"] = "id",
    desc: bool = True,
) -> PageOut[AuditOut]:
    """Audit entries, newest first by default."""
    request = Page.request(page, size, sort=sort, descending=desc)
    rows, total = await audit.audit_log(
        env, actor, request, action=action, by=actor_name, since=since
    )
    return PageOut[AuditOut](
        items=[AuditOut.model_validate(r) for r in rows], total=total, page=page, size=request.size
    )


@router.post("/retention/run")
async def run_retention(env: EnvDep, actor: AdminDep) -> RetentionOut:
    """Apply the retention periods now (the server also runs this daily)."""
    return RetentionOut.model_validate(asdict(await retention.run_retention(env, actor)))
