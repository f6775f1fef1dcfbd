"""One place per incident (issue 17 item 2): an alert's page with its subject (lane, event,
pass, holder masked, household), the pass's attempts and the overrides after them, and one
action each: a call to the household, revoke and reissue, unlock after an ID check, and the
outcome (劝返, 批评教育, 误报) that resolves the alert. Every action is stored and audited
(server.services.incidents.actions)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from server.http.deps import EnvDep
from server.services.context import Actor, Env
from server.services.incidents import actions, view
from server.services.incidents import refusals as refusal_service
from server.web.guard import AdminPage, PageRoute, StaffPage
from server.web.render import page

router = APIRouter(route_class=PageRoute, include_in_schema=False)
Note = Annotated[str, Form(max_length=500)]
Short = Annotated[str, Form(max_length=32)]


async def _context(env: Env, actor: Actor, alert_id: str) -> dict[str, Any]:
    found = await view.incident(env, actor, view.alert_id_of(alert_id))
    refused: tuple[list[Any], int] = ([], 0)
    if found.household is not None:
        refused = await refusal_service.of_household(env, actor, found.household.id, limit=5)
    return {
        "i": found,
        "outcomes": actions.OUTCOMES,
        "refusals": refused[0],
        "refusals_total": refused[1],
        "revealed": None,
        "done": None,
    }


@router.get("/ui/alerts/{alert_id}")
async def incident(*, request: Request, env: EnvDep, actor: StaffPage, alert_id: str) -> Response:
    """The incident page of one alert in the staff member's zones."""
    context = await _context(env, actor, alert_id)
    context["done"] = request.query_params.get("done", "")[:16] or None
    return page(request, "incident.html", **context)


def _back(alert_id: int, done: str) -> Response:
    return RedirectResponse(f"/ui/alerts/{alert_id}?done={done}", status_code=303)


@router.post("/ui/alerts/{alert_id}/call")
async def call(
    *,
    request: Request,
    env: EnvDep,
    actor: StaffPage,
    alert_id: str,
    result: Short = "",
    note: Note = "",
) -> Response:
    """Record a call to the household: reached or not, and what was said."""
    number = view.alert_id_of(alert_id)
    await actions.record_call(env, actor, number, result, note)
    return _back(number, "call")


@router.post("/ui/alerts/{alert_id}/reissue")
async def reissue(*, request: Request, env: EnvDep, actor: AdminPage, alert_id: str) -> Response:
    """Revoke the alert's pass and issue its holder a new one (admins)."""
    number = view.alert_id_of(alert_id)
    await actions.reissue(env, actor, number)
    return _back(number, "reissue")


@router.post("/ui/alerts/{alert_id}/unlock")
async def unlock(
    *, request: Request, env: EnvDep, actor: StaffPage, alert_id: str, note: Note = ""
) -> Response:
    """Clear the pass's lock after an ID check, saying what was checked."""
    number = view.alert_id_of(alert_id)
    await actions.unlock(env, actor, number, note)
    return _back(number, "unlock")


@router.post("/ui/alerts/{alert_id}/outcome")
async def outcome(
    *,
    request: Request,
    env: EnvDep,
    actor: StaffPage,
    alert_id: str,
    outcome: Short = "",
    note: Note = "",
) -> Response:
    """Close the incident with its outcome; the alert is acknowledged with it."""
    number = view.alert_id_of(alert_id)
    await actions.resolve(env, actor, number, outcome, note)
    return _back(number, "outcome")


@router.post("/ui/alerts/{alert_id}/reveal")
async def reveal(
    *,
    request: Request,
    env: EnvDep,
    actor: AdminPage,
    alert_id: str,
    reason: Annotated[str, Form(max_length=200)],
) -> Response:
    """Show the holder's full name and phone once, the reason in the audit log (admins)."""
    shown = await actions.reveal(env, actor, view.alert_id_of(alert_id), reason)
    context = await _context(env, actor, alert_id)
    context["revealed"] = shown
    return page(request, "incident.html", **context)
