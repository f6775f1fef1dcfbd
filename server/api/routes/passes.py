"""Passes: list, issue (single and bulk), renew, revoke, locks and unlock, QR images and PDF
cards."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response

from server.api.models.common import PageOut
from server.api.models.passes import (
    BulkIssued,
    BulkIssueIn,
    BulkRevokeIn,
    CountOut,
    EveryoneIn,
    EveryoneOut,
    LockOut,
    NotIssuedOut,
    PassIssued,
    PassIssueIn,
    PassOut,
    PlaceRevokeIn,
    RevokeIn,
    UnlockIn,
)
from server.api.types import IdPath, PageNo, PageSize, RefPath, SearchText
from server.http.deps import AdminDep, EnvDep, StaffDep, link_of
from server.services.errors import Invalid
from server.services.paging import Page
from server.services.passes import everyone, printing
from server.services.passes import issuing as passes
from server.services.passes import listing as pass_listing
from server.services.passes import locks as pass_locks
from server.services.registry import places as registry

router = APIRouter(prefix="/api/v1", tags=["passes"])
OptionalId = Annotated[int | None, Query(ge=1, le=2**31 - 1)]
_PDF: dict[str, Any] = {"content": {"application/pdf": {}}}


@router.get("/passes")
async def search_passes(
    *,
    env: EnvDep,
    actor: StaffDep,
    resident_id: OptionalId = None,
    visitor_id: OptionalId = None,
    staff_id: OptionalId = None,
    household_id: OptionalId = None,
    kind: Literal["resident", "visitor", "staff"] | None = None,
    active: bool = False,
    page: PageNo = 1,
    size: PageSize = 50,
    sort: Literal["id", "issued_at", "expires", "kind"] = "id",
    desc: bool = False,
) -> PageOut[PassOut]:
    """Passes in scope; ``active`` leaves out revoked and expired ones."""
    filters = {
        "resident_id": resident_id,
        "visitor_id": visitor_id,
        "staff_id": staff_id,
        "household_id": household_id,
        "kind": kind,
    }
    request = Page.request(page, size, sort=sort, descending=desc)
    present = {k: v for k, v in filters.items() if v is not None}
    rows, total = await pass_listing.search(env, actor, request, present, active_only=active)
    return PageOut[PassOut](
        items=[PassOut.model_validate(r) for r in rows], total=total, page=page, size=request.size
    )


@router.get("/passes/locks")
async def active_locks(env: EnvDep, actor: StaffDep) -> list[LockOut]:
    """Passes locked after wrong phone digits at a lane, refused at every lane until unlocked."""
    return [LockOut.model_validate(lock) for lock in await pass_locks.active(env, actor)]


@router.post("/passes/{ref}/unlock")
async def unlock(
    ref: RefPath, body: UnlockIn, request: Request, env: EnvDep, actor: StaffDep
) -> LockOut:
    """Clear a pass's lock (staff of its zone or admins) after an ID check; ``reason`` is
    required (422 ``unlock_reason_required`` without it). Every lane hears it signed."""
    lock = await pass_locks.unlock(env, actor, ref, body.why)
    link = link_of(request)
    if link is not None:
        link.poke()  # publish the new list now, not at the next poll
    return LockOut.model_validate(lock)


@router.get("/passes/{pass_id}")
async def get_pass(pass_id: IdPath, env: EnvDep, actor: StaffDep) -> PassOut:
    """One pass."""
    return PassOut.model_validate(await pass_listing.get(env, actor, pass_id))


@router.post("/passes", status_code=201)
async def issue_pass(body: PassIssueIn, env: EnvDep, actor: AdminDep) -> PassIssued:
    """Issue a pass for a resident or a staff member (staff register visitors instead)."""
    if body.resident_id is not None:
        row = await passes.issue_resident(env, actor, body.resident_id, days=body.days)
    else:
        assert body.staff_id is not None
        row = await passes.issue_staff(env, actor, body.staff_id)
    return PassIssued.model_validate(row)


@router.post("/passes/bulk", status_code=201)
async def issue_bulk(body: BulkIssueIn, env: EnvDep, actor: AdminDep) -> BulkIssued:
    """One pass per resident of the listed households, or of every household of a building."""
    ids = list(body.household_ids)
    if body.building is not None:
        rows, _total = await _building_households(env, actor, body.building)
        ids += rows
    if not ids:
        raise Invalid("name household_ids or a building with households")
    result = await passes.issue_households(env, actor, sorted(set(ids)), days=body.days)
    return BulkIssued(
        issued=[PassIssued.model_validate(r) for r in result.issued],
        skipped=[NotIssuedOut.model_validate(r) for r in result.skipped],
    )


@router.post("/passes/everyone")
async def issue_everyone(body: EveryoneIn, env: EnvDep, actor: AdminDep) -> EveryoneOut:
    """Passes for everyone, once: a pass for each resident of the site (or of a zone, building
    or unit) who has no live pass; a second call issues nothing. One transaction."""
    place = everyone.place_of(body.zone_id, body.building, body.unit)
    result = await everyone.issue_everyone(env, actor, place, days=body.days)
    return EveryoneOut(
        issued=len(result.issued),
        already_had=result.already_had,
        skipped=[NotIssuedOut.model_validate(r) for r in result.skipped],
    )


@router.post("/passes/revoke-place")
async def revoke_place(
    body: PlaceRevokeIn, request: Request, env: EnvDep, actor: AdminDep
) -> CountOut:
    """Revoke every live pass of a building or one unit of it, with the required reason."""
    place = everyone.place_of(body.zone_id, body.building, body.unit)
    count = await everyone.revoke_place(env, actor, place, body.reason)
    link = link_of(request)
    if link is not None and count:
        link.poke()  # publish the new list now, not at the next poll
    return CountOut(count=count)


async def _building_households(
    env: EnvDep, actor: StaffDep, building: str
) -> tuple[list[int], int]:

    ids: list[int] = []
    page_no, total = 1, 1
    while len(ids) < total:
        rows, total = await registry.search_households(
            env, actor, Page(page_no, 100, "id"), building=building
        )
        if not rows:
            break
        ids += [r.id for r in rows]
        page_no += 1
    return ids, total


@router.post("/passes/{pass_id}/renew", status_code=201)
async def renew(pass_id: IdPath, env: EnvDep, actor: AdminDep) -> PassIssued:
    """A fresh pass for the same holder; the old one is revoked."""
    return PassIssued.model_validate(await passes.renew(env, actor, pass_id))


@router.post("/passes/{pass_id}/revoke")
async def revoke(pass_id: IdPath, body: RevokeIn, env: EnvDep, actor: StaffDep) -> CountOut:
    """Revoke one pass (staff: visitor passes only)."""
    return CountOut(count=await passes.revoke(env, actor, [pass_id], body.reason))


@router.post("/passes/revoke")
async def revoke_bulk(body: BulkRevokeIn, env: EnvDep, actor: StaffDep) -> CountOut:
    """Revoke several passes, all or nothing."""
    return CountOut(count=await passes.revoke(env, actor, body.pass_ids, body.reason))


@router.get(
    "/passes/{pass_id}/qr.svg",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}},
)
async def qr_svg(pass_id: IdPath, env: EnvDep, actor: StaffDep) -> Response:
    """The pass's QR code as SVG (level Q)."""
    return Response(await printing.qr_image(env, actor, pass_id, "svg"), media_type="image/svg+xml")


@router.get(
    "/passes/{pass_id}/qr.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
)
async def qr_png(pass_id: IdPath, env: EnvDep, actor: StaffDep) -> Response:
    """The pass's QR code as PNG (level Q)."""
    return Response(await printing.qr_image(env, actor, pass_id, "png"), media_type="image/png")


@router.get("/passes/{pass_id}/card.pdf", response_class=Response, responses={200: _PDF})
async def card_pdf(pass_id: IdPath, env: EnvDep, actor: StaffDep) -> Response:
    """A print-ready card for one pass."""
    return Response(await printing.card(env, actor, pass_id), media_type="application/pdf")


@router.get("/cards.pdf", response_class=Response, responses={200: _PDF})
async def cards_pdf(
    env: EnvDep,
    actor: StaffDep,
    household_id: Annotated[list[int] | None, Query(max_length=2000)] = None,
    building: SearchText = None,
) -> Response:
    """Cards for every live pass of the given households or of a building, ten per A4 sheet."""
    if not household_id and not building:
        raise Invalid("name household_id or building")
    if household_id and any(not 1 <= h < 2**31 for h in household_id):
        raise Invalid("household ids are positive 32-bit integers")
    pdf, count = await printing.sheet(env, actor, household_ids=household_id, building=building)
    return Response(pdf, media_type="application/pdf", headers={"X-Card-Count": str(count)})
