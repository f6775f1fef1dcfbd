"""Cards the office hands out: a page to choose the whole site, a zone, a building or a unit,
and the delivery PDF it downloads (per unit a checklist, then its cards; docs/office.md)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from server.http.deps import EnvDep
from server.services.passes import printing
from server.services.registry import places as registry
from server.web.cardwords import checklist_words, face_words
from server.web.guard import PageRoute, StaffPage
from server.web.render import language_of, page

router = APIRouter(route_class=PageRoute, include_in_schema=False)
Choice = Annotated[str, Query(max_length=64)]


@router.get("/ui/cards")
async def choose(*, request: Request, env: EnvDep, actor: StaffPage) -> Response:
    """The form: zone, building and unit, each "all" by default."""
    zones = await registry.list_zones(env, actor)
    units = await printing.unit_places(env, actor)
    buildings = list(dict.fromkeys(p.building for p in units))
    return page(request, "cards.html", zones=zones, buildings=buildings, units=units)


@router.get("/ui/cards.pdf")
async def download(
    *,
    request: Request,
    env: EnvDep,
    actor: StaffPage,
    zone: Choice = "",
    building: Choice = "",
    unit: Choice = "",
) -> Response:
    """The delivery PDF of the choice (the actor's zones only); a refusal is a page that says
    why in the reader's language."""
    selection = printing.Selection(zone=zone or None, building=building or None, unit=unit or None)
    folder = Path(tempfile.mkdtemp(prefix="gatepass-cards-"))
    try:
        printed = await printing.delivery_cards(
            env,
            actor,
            selection,
            folder / "delivery.pdf",
            face=face_words(),
            checklist=checklist_words(language_of(request)),
        )
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    name = (
        "-".join(["cards", *(p for p in (zone, building, unit) if p)])
        if zone or building or unit
        else "cards-site"
    )
    return FileResponse(
        folder / "delivery.pdf",
        media_type="application/pdf",
        filename=f"{name}.pdf",
        headers={"X-Card-Count": str(printed.cards)},
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )
