"""Importing the office's register from the browser: upload, preview, apply.

Admins only. The upload is stored under a server-generated name (server.web.uploads) and
previewed without writing (services.imports.preview_residents, whose worker process reads the
file off the event loop): new people, changed phones, people gone, home-observation changes,
conflicts with edits made here, erased people (a box per row to register them again) and
rejected rows, each in the reader's language. Applying runs the import of that same file with
the zone and the ticked rows, re-checked against the registry as it is then; rejected rows
keep everything unwritten unless the admin chose to skip them, and the preview comes back. A
written (or already matching) file is deleted; a refused one at once, whatever went wrong.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from starlette.datastructures import UploadFile

from server.http.deps import EnvDep
from server.services.registry import imports, places
from server.services.registry.file_limits import Problem, refused
from server.web import uploads
from server.web.guard import AdminPage, PageRoute
from server.web.render import page

router = APIRouter(route_class=PageRoute, include_in_schema=False)
MAX_UPLOAD = 20 * 1024 * 1024
MAX_CONFIRMED = 10_000
SHOWN = 200  # people listed per preview section; the rest are counted


@router.get("/ui/import")
async def import_form(*, request: Request, env: EnvDep, actor: AdminPage) -> Response:
    """Choose a file (and a zone for rows without one)."""
    zones = await places.list_zones(env, actor)
    return page(request, "import.html", limit_mb=_limit(request) // (1024 * 1024), zones=zones)


def _limit(request: Request) -> int:
    return min(MAX_UPLOAD, int(request.state.env.settings.max_body_bytes))


def _zone(value: object) -> str | None:
    return value.strip()[:64] or None if isinstance(value, str) else None


@router.post("/ui/import")
async def upload(*, request: Request, env: EnvDep, actor: AdminPage) -> Response:
    """Store the file and show its preview."""
    form = await request.form()  # closed by PageRoute when the request ends
    file = form.get("file")
    if not isinstance(file, UploadFile):
        raise refused(Problem.EMPTY, "choose a file")
    zone = _zone(form.get("zone"))
    assert actor.staff_id is not None
    token = await uploads.save(env.settings.data_dir, actor.staff_id, file, _limit(request))
    path = uploads.path_of(env.settings.data_dir, actor.staff_id, token)
    try:
        report = await imports.preview_residents(env, actor, path, zone=zone)
    except BaseException:  # refused, failed or cancelled: the upload goes
        path.unlink(missing_ok=True)
        raise
    return _preview(request, report, token, zone)


def _preview(
    request: Request, report: imports.ImportReport, token: str, zone: str | None
) -> Response:
    return page(
        request, "import_report.html", report=report, token=token, zone=zone or "", shown=SHOWN
    )


@router.post("/ui/import/{token}")
async def confirm(
    *,
    request: Request,
    env: EnvDep,
    actor: AdminPage,
    token: str,
    skip_invalid: Annotated[str, Form(max_length=8)] = "",
    zone: Annotated[str, Form(max_length=64)] = "",
    confirm_row: Annotated[list[int] | None, Form()] = None,
) -> Response:
    """Apply the previewed file (with the ticked erased people); back to the preview when
    rejected rows hold everything back."""
    assert actor.staff_id is not None
    path = uploads.path_of(env.settings.data_dir, actor.staff_id, token)
    rows = set((confirm_row or [])[:MAX_CONFIRMED])
    try:
        report = await imports.import_residents(
            env,
            actor,
            path,
            skip_invalid=skip_invalid == "yes",
            zone=_zone(zone),
            confirm_rows=rows,
        )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if report.held_back:
        return _preview(request, report, token, _zone(zone))
    await asyncio.to_thread(path.unlink, missing_ok=True)
    return page(request, "import_done.html", report=report)
