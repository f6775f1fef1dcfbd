"""Importing the office's register from the browser: upload, validation report, confirm.

Admins only. The upload is stored under a server-generated name (server.web.uploads) and
validated without writing (services.imports.preview_residents, whose worker process reads the
file off the event loop); the report lists every row problem. Confirming runs the real import of
that same file, all-or-nothing unless the admin chose to skip invalid rows, and deletes the file.
A refused file (its reason in the reader's language, see server.web.guard) is deleted at once,
whatever went wrong.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from starlette.datastructures import UploadFile

from server.http.deps import EnvDep
from server.services.registry import imports
from server.services.registry.file_limits import Problem, refused
from server.web import uploads
from server.web.guard import AdminPage, PageRoute
from server.web.render import page

router = APIRouter(route_class=PageRoute, include_in_schema=False)
MAX_UPLOAD = 20 * 1024 * 1024


@router.get("/ui/import")
async def import_form(*, request: Request, actor: AdminPage) -> Response:
    """Choose a file."""
    return page(request, "import.html", limit_mb=_limit(request) // (1024 * 1024))


def _limit(request: Request) -> int:
    return min(MAX_UPLOAD, int(request.state.env.settings.max_body_bytes))


@router.post("/ui/import")
async def upload(*, request: Request, env: EnvDep, actor: AdminPage) -> Response:
    """Store the file and show its validation report."""
    file = (await request.form()).get("file")  # closed by PageRoute when the request ends
    if not isinstance(file, UploadFile):
        raise refused(Problem.EMPTY, "choose a file")
    assert actor.staff_id is not None
    token = await uploads.save(env.settings.data_dir, actor.staff_id, file, _limit(request))
    path = uploads.path_of(env.settings.data_dir, actor.staff_id, token)
    try:
        report = await imports.preview_residents(env, path)
    except BaseException:  # refused, failed or cancelled: the upload goes
        path.unlink(missing_ok=True)
        raise
    return page(request, "import_report.html", report=report, token=token, done=False)


@router.post("/ui/import/{token}")
async def confirm(
    *,
    request: Request,
    env: EnvDep,
    actor: AdminPage,
    token: str,
    skip_invalid: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Import the reviewed file."""
    assert actor.staff_id is not None
    path = uploads.path_of(env.settings.data_dir, actor.staff_id, token)
    try:
        report = await imports.import_residents(
            env, actor, path, skip_invalid=skip_invalid == "yes"
        )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if report.written:
        await asyncio.to_thread(path.unlink, missing_ok=True)
    return page(request, "import_report.html", report=report, token=token, done=report.written)
