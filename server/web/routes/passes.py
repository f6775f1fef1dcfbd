"""Passes by place (issue 16 item 5): passes for everyone, once, and revoking the passes of a
building or a unit with a reason. Admins only, as in the API; the result is said on the page in
the reader's language, with the residents left out and why."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response

from server.http.deps import EnvDep, link_of
from server.services.passes import everyone
from server.services.registry import places as registry
from server.web.guard import AdminPage, PageRoute
from server.web.i18n import Translator
from server.web.render import language_of, page

router = APIRouter(route_class=PageRoute, include_in_schema=False)
Label = Annotated[str, Form(max_length=64)]
Reason = Annotated[str, Form(max_length=200)]


async def _form(
    request: Request,
    env: EnvDep,
    actor: AdminPage,
    place: everyone.Place | None = None,
    **context: Any,
) -> Response:
    zones = await registry.list_zones(env, actor)
    words = _words(Translator(language_of(request)), place) if place is not None else ""
    return page(request, "passes.html", zones=zones, place_words=words, **context)


def _words(t: Translator, place: everyone.Place) -> str:
    """The place in the reader's words (the whole site when nothing narrows it)."""
    parts = []
    if place.zone is not None:
        parts.append(t("everyone.zone", zone=place.zone))
    if place.building is not None:
        parts.append(t("everyone.building", building=place.building))
    if place.unit is not None:
        parts.append(t("everyone.unit", unit=place.unit))
    return " ".join(parts) or t("everyone.site")


@router.get("/ui/passes")
async def passes_page(*, request: Request, env: EnvDep, actor: AdminPage) -> Response:
    """Passes for everyone, and revoking a building's or unit's passes."""
    return await _form(request, env, actor)


async def _place(
    env: EnvDep, actor: AdminPage, zone: str, building: str, unit: str
) -> everyone.Place:
    zone_id = await everyone.zone_id(env, actor, zone) if zone.strip() else None
    return everyone.place_of(zone_id, building.strip() or None, unit.strip() or None)


@router.post("/ui/passes/everyone")
async def issue_everyone(
    *,
    request: Request,
    env: EnvDep,
    actor: AdminPage,
    zone: Label = "",
    building: Label = "",
    unit: Label = "",
) -> Response:
    """Issue a pass to each resident of the place who has none live (a second run: none)."""
    place = await _place(env, actor, zone, building, unit)
    result = await everyone.issue_everyone(env, actor, place)
    return await _form(request, env, actor, result=result, place=place)


@router.post("/ui/passes/revoke-place")
async def revoke_place(
    *,
    request: Request,
    env: EnvDep,
    actor: AdminPage,
    zone: Label = "",
    building: Label = "",
    unit: Label = "",
    reason: Reason = "",
) -> Response:
    """Revoke every live pass of a building or a unit of it, with the required reason."""
    place = await _place(env, actor, zone, building, unit)
    count = await everyone.revoke_place(env, actor, place, reason)
    link = link_of(request)
    if link is not None and count:
        link.poke()
    return await _form(request, env, actor, revoked=count, place=place)
