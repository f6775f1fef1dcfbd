"""Gate events as ingested (staff, in their zones) and dead letters (admins)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from server.api.models.common import PageOut
from server.api.models.gates import DeadLetterOut, EventOut
from server.api.types import GateQuery, IdPath, PageNo, PageSize
from server.http.deps import AdminDep, EnvDep, StaffDep
from server.services.paging import Page
from server.services.reports import events as event_queries

router = APIRouter(prefix="/api/v1", tags=["events"])
Ms = Annotated[int | None, Query(ge=0, le=10**13)]
Word = Annotated[str | None, Query(min_length=1, max_length=40, pattern=r"^[a-z0-9_]+$")]
RefQuery = Annotated[str | None, Query(pattern=r"^[0-9a-f]{16}$")]


@router.get("/events")
async def list_events(
    *,
    env: EnvDep,
    actor: StaffDep,
    gate: GateQuery = None,
    kind: Literal["decision", "alarm"] | None = None,
    granted: bool | None = None,
    reason: Word = None,
    alarm: Word = None,
    pass_ref: RefQuery = None,
    flag: Word = None,
    offline: bool | None = None,
    since_ms: Ms = None,
    until_ms: Ms = None,
    page: PageNo = 1,
    size: PageSize = 50,
    sort: Literal["id", "at_ms", "seq"] = "id",
    desc: bool = True,
) -> PageOut[EventOut]:
    """Events of lanes in the caller's zones, newest first; times are gate milliseconds."""
    request = Page.request(page, size, sort=sort, descending=desc)
    filters = {
        "gate": gate,
        "kind": kind,
        "granted": granted,
        "reason": reason,
        "alarm": alarm,
        "pass_ref": pass_ref,
        "flag": flag,
        "offline": offline,
    }
    rows, total = await event_queries.search_events(
        env, actor, request, filters=filters, since_ms=since_ms, until_ms=until_ms
    )
    items = [EventOut.model_validate(r) for r in rows]
    return PageOut[EventOut](items=items, total=total, page=page, size=request.size)


@router.get("/dead-letters")
async def list_dead_letters(
    *,
    env: EnvDep,
    actor: AdminDep,
    reason: Word = None,
    gate: GateQuery = None,
    page: PageNo = 1,
    size: PageSize = 50,
    desc: bool = True,
) -> PageOut[DeadLetterOut]:
    """Messages ingest refused and acknowledged, newest first (payloads on the single route)."""
    request = Page.request(page, size, sort="id", descending=desc)
    rows, total = await event_queries.search_dead_letters(
        env, actor, request, reason=reason, gate=gate
    )
    items = [DeadLetterOut.model_validate(r) for r in rows]
    return PageOut[DeadLetterOut](items=items, total=total, page=page, size=request.size)


@router.get("/dead-letters/{letter_id}")
async def get_dead_letter(letter_id: IdPath, env: EnvDep, actor: AdminDep) -> DeadLetterOut:
    """One refused message with its payload in hex (at most the first 64 KiB)."""
    row = await event_queries.get_dead_letter(env, actor, letter_id)
    payload = row.payload or b""
    return DeadLetterOut.model_validate(row).model_copy(update={"payload_hex": payload.hex()})
