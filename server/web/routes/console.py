"""The gate console: one page per lane for the staff member at the entrance, on a tablet.

Each scan appears live (server-sent events, routes/live.py) in large type and colour; one tap
on a reason opens the lane once; lockdown and free passage need a confirmation page. Commands
go through server.services.gates.commands, as the API's do; a refusal is shown on the console
itself.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from server.http.deps import EnvDep, link_of
from server.services.context import Actor, Env
from server.services.errors import Invalid, LinkDown, NotFound, ServiceError
from server.services.gates import commands, health
from server.services.incidents import overrides, refusals
from server.services.paging import Page
from server.services.reports import log as reports
from server.services.text import TextError
from server.web.guard import PageRoute, StaffPage
from server.web.render import page

router = APIRouter(route_class=PageRoute, include_in_schema=False)
RECENT = 8
Note = Annotated[str, Form(max_length=200)]


@router.get("/ui/console")
async def lanes(*, request: Request, env: EnvDep, actor: StaffPage) -> Response:
    """Choose a lane."""
    return page(request, "console_lanes.html", lanes=await health.lane_health(env, actor))


async def _console(
    request: Request,
    env: Env,
    actor: Actor,
    gate_id: str,
    *,
    status: int = 200,
    result: str | None = None,
    detail: str | None = None,
    typed: dict[str, str] | None = None,
) -> Response:
    lane = await health.lane(env, actor, gate_id)
    recent, _ = await reports.search(
        env, actor, Page(1, RECENT, "id", True), reports.EventFilter(gate=gate_id)
    )
    after = recent[0].id if recent else await reports.latest_event_id(env)
    return page(
        request,
        "console.html",
        status=status,
        lane=lane,
        recent=recent,
        linked=await overrides.linked_scans(env, actor, recent),
        after=after,
        reasons=commands.OPEN_REASONS,
        result=result,
        detail=detail,
        recent_commands=await commands.recent(env, actor, gate_id),
        last_scan=await refusals.last_scan(env, actor, gate_id),
        households=await refusals.household_labels(env, actor, gate_id),
        typed=typed or {},
    )


async def _refused(
    request: Request, env: Env, actor: Actor, gate_id: str, exc: ServiceError
) -> Response:
    """The console again with why the command was not sent: a broker link that is down gets
    its own words (open the lane at the gate), anything else the service's detail."""
    if isinstance(exc, LinkDown):
        return await _console(request, env, actor, gate_id, status=409, result="link_down")
    return await _console(
        request, env, actor, gate_id, status=409, result="failed", detail=str(exc)
    )


@router.get("/ui/console/{gate_id}")
async def console(*, request: Request, env: EnvDep, actor: StaffPage, gate_id: str) -> Response:
    """The lane's live console."""
    return await _console(request, env, actor, gate_id, result=request.query_params.get("sent"))


@router.post("/ui/console/{gate_id}/open")
async def open_lane(
    *,
    request: Request,
    env: EnvDep,
    actor: StaffPage,
    gate_id: str,
    reason: Annotated[str, Form(max_length=32)],
    note: Note = "",
) -> Response:
    """Open the lane once, with the reason tapped (and the text for 'other')."""
    return await _command(
        request, env, actor, gate_id, "open", kind="open_once", reason=reason, note=note
    )


@router.get("/ui/console/{gate_id}/mode")
async def confirm_mode(
    *, request: Request, env: EnvDep, actor: StaffPage, gate_id: str, to: str
) -> Response:
    """Ask before switching the lane's mode (lockdown, free passage, normal)."""
    if to not in commands.CONSOLE_MODES:
        raise NotFound(f"mode {to}")
    return page(request, "console_mode.html", lane=await health.lane(env, actor, gate_id), mode=to)


@router.post("/ui/console/{gate_id}/mode")
async def set_mode(
    *,
    request: Request,
    env: EnvDep,
    actor: StaffPage,
    gate_id: str,
    mode: Annotated[str, Form(max_length=16)],
    note: Note = "",
) -> Response:
    """Switch the lane's mode after the confirmation page."""
    return await _command(
        request, env, actor, gate_id, "mode", kind="set_mode", mode=mode, note=note
    )


async def _command(
    request: Request,
    env: Env,
    actor: Actor,
    gate_id: str,
    sent: str,
    *,
    kind: str,
    note: str,
    reason: str | None = None,
    mode: str | None = None,
) -> Response:
    """Send one command to a lane in the actor's zones; back to the console, or the refusal."""
    await health.lane(env, actor, gate_id)
    try:
        command, why, to = commands.parse(kind, reason=reason, mode=mode)
        await commands.send(
            env,
            link_of(request),
            actor,
            gate_id,
            command,
            reason=why,
            mode=to,
            note=note.strip() or None,
        )
    except ServiceError as exc:
        return await _refused(request, env, actor, gate_id, exc)
    return RedirectResponse(f"/ui/console/{gate_id}?sent={sent}", status_code=303)


@router.post("/ui/console/{gate_id}/refusal")
async def refusal(
    *,
    request: Request,
    env: EnvDep,
    actor: StaffPage,
    gate_id: str,
    household: Annotated[str, Form(max_length=64)] = "",
    scan: Annotated[str, Form(max_length=36)] = "",
    note: Note = "",
) -> Response:
    """Record 拒绝检测/劝返: the household typed or picked (empty: the scan the panel named,
    ``scan``); a refusal of the input is shown on the console with what was typed kept."""
    await health.lane(env, actor, gate_id)
    try:
        await refusals.record(env, actor, gate_id, label=household, note=note, event_id=scan)
    except (Invalid, TextError) as exc:
        typed = {"household": household, "note": note}
        code = getattr(exc, "code", None) or refusals.BAD_INPUT
        return await _console(
            request,
            env,
            actor,
            gate_id,
            status=422,
            result="refusal_failed",
            detail=code,
            typed=typed,
        )
    return RedirectResponse(f"/ui/console/{gate_id}?sent=refusal", status_code=303)
