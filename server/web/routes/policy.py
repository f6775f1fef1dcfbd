"""Lane policy pages: each zone's rules and each lane's own on top (admins edit, staff view),
validated field by field, previewed lane by lane before anything is saved."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import RedirectResponse
from starlette.datastructures import FormData

from server.http.deps import EnvDep
from server.records import JSONObject
from server.services.context import Actor, Env
from server.services.errors import Conflict
from server.services.gates import policy_edit as edit
from server.services.gates.policy_edit import PolicyInvalid, Target
from server.web.format import temperature
from server.web.guard import AdminPage, PageRoute, StaffPage
from server.web.i18n import Translator
from server.web.render import language_of, page

router = APIRouter(route_class=PageRoute, include_in_schema=False)
GateId = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[a-z0-9-]+$")]
ZoneId = Annotated[int, Path(ge=0, le=65535)]
FORM_FIELDS = (*edit.FIELDS, *edit.DAY_FIELDS, *(f"closed{d}" for d in edit.WEEKDAYS), "seen")


EMPTY_WINDOWS = {"open_windows": "policy.value.always", "quiet_hours": "policy.value.no_quiet"}


def describe(t: Translator, name: str, value: Any) -> str:
    """A policy value as staff read it (choices and yes/no in their language, hours as text)."""
    if name.startswith("day"):
        return _day(t, value)
    if name in EMPTY_WINDOWS:
        return edit.windows_text(value) if value else t(EMPTY_WINDOWS[name])
    if name.startswith("phone_check") or name == "lane_language":
        return t(f"policy.{'language' if name == 'lane_language' else 'check'}.{value}")
    if name == "apb_logical":
        return t("policy.value.yes") if value else t("policy.value.no")
    units: dict[str, Callable[[Any], str]] = {
        "fever_threshold_c": temperature,
        "phone_sample_percent": lambda n: t("policy.value.percent", n=n),
        "voice_volume": lambda n: t("policy.value.percent", n=n),
        "quiet_volume": lambda n: t("policy.value.percent", n=n),
        "apb_minutes": lambda n: t("policy.value.minutes", n=n),
    }
    return units.get(name, str)(value)


def _day(t: Translator, value: list[list[int]] | None) -> str:
    if value is None:
        return t("policy.value.daily")
    return t("policy.value.closed") if _closed(value) else edit.windows_text(value)


def _closed(windows: list[list[int]]) -> bool:
    return bool(windows) and all(start == end for start, end in windows)


def _text_fields(data: FormData) -> dict[str, str]:
    """The form's known text fields (a file or a repeated field counts as nothing typed)."""
    fields: dict[str, str] = {}
    for name in FORM_FIELDS:
        values = data.getlist(name)
        value = values[0] if len(values) == 1 else ""
        fields[name] = value if isinstance(value, str) else ""
    return fields


def _place(target: Target) -> str:
    base = "/ui/policy/zones/" if target.gate is None else "/ui/policy/lanes/"
    return base + (str(target.zone_id) if target.gate is None else target.gate.id)


def _editor(
    request: Request,
    actor: Actor,
    target: Target,
    *,
    form: dict[str, str] | None = None,
    errors: list[edit.FieldError] | None = None,
    status: int = 200,
    saved: int | None = None,
) -> Response:
    t = Translator(language_of(request))
    lanes = [(g, edit.shown(edit.lane_effective(target, g.id))) for g in target.lanes]
    return page(
        request,
        "policy_edit.html",
        status=status,
        target=target,
        action=_place(target),
        editable=actor.is_admin,
        form=form or edit.form_of(target.overrides),
        errors={e.name: t(f"policy.error.{e.code}", **e.values) for e in errors or []},
        inherited=edit.shown(edit.inherited(target)),
        lanes=lanes,
        specs=edit.SPECS,
        days=edit.WEEKDAYS,
        choices=edit.CHOICES,
        languages=edit.LANGUAGES,
        describe=lambda name, value: describe(t, name, value),
        saved=saved,
    )


@router.get("/ui/policy")
async def index(*, request: Request, env: EnvDep, actor: StaffPage) -> Response:
    """Every zone of the caller's scope with its lanes and what each decides with."""
    t = Translator(language_of(request))
    zones = await edit.zones(env, actor)
    lanes = {g.id: edit.shown(edit.lane_effective(z, g.id)) for z in zones for g in z.lanes}
    return page(
        request,
        "policy_index.html",
        zones=zones,
        lanes=lanes,
        describe=lambda name, value: describe(t, name, value),
    )


def _saved(request: Request) -> int | None:
    text = request.query_params.get("saved", "")
    return int(text) if text.isdigit() and len(text) < 6 else None


@router.get("/ui/policy/zones/{zone_id}")
async def zone_page(
    *, request: Request, env: EnvDep, actor: StaffPage, zone_id: ZoneId
) -> Response:
    """A zone's rules, inherited by its lanes (a form for admins)."""
    target = await edit.zone_target(env, actor, zone_id)
    return _editor(request, actor, target, saved=_saved(request))


@router.get("/ui/policy/lanes/{gate_id}")
async def lane_page(
    *, request: Request, env: EnvDep, actor: StaffPage, gate_id: GateId
) -> Response:
    """A lane's own rules on top of its zone's (a form for admins)."""
    target = await edit.lane_target(env, actor, gate_id)
    return _editor(request, actor, target, saved=_saved(request))


async def _preview(request: Request, actor: Actor, target: Target) -> Response:
    form = _text_fields(await request.form())
    try:
        overrides = edit.parse_form(form)
    except PolicyInvalid as exc:
        return _editor(request, actor, target, form=form, errors=exc.errors, status=422)
    return _preview_page(request, target, form, overrides)


def _preview_page(
    request: Request,
    target: Target,
    form: dict[str, str],
    overrides: JSONObject,
    *,
    status: int = 200,
    conflict: bool = False,
) -> Response:
    t = Translator(language_of(request))
    return page(
        request,
        "policy_preview.html",
        status=status,
        target=target,
        action=_place(target),
        changes=edit.preview(target, overrides),
        names={g.id: g.name for g in target.lanes},
        form={k: v for k, v in form.items() if k != "seen"},
        seen=target.seen,
        conflict=conflict,
        describe=lambda name, value: describe(t, name, value),
    )


async def _save(request: Request, env: Env, actor: Actor, target: Target) -> Response:
    form = _text_fields(await request.form())
    try:
        overrides = edit.parse_form(form)
    except PolicyInvalid as exc:
        return _editor(request, actor, target, form=form, errors=exc.errors, status=422)
    try:
        changed = await edit.save(env, actor, target, overrides, seen=form["seen"])
    except Conflict:  # changed meanwhile: preview again against what is stored now
        return _preview_page(request, target, form, overrides, status=409, conflict=True)
    return RedirectResponse(f"{_place(target)}?saved={changed}", status_code=303)


@router.post("/ui/policy/zones/{zone_id}/preview")
async def zone_preview(
    *, request: Request, env: EnvDep, actor: AdminPage, zone_id: ZoneId
) -> Response:
    """What the zone's edit would change on each of its lanes; nothing is saved yet."""
    return await _preview(request, actor, await edit.zone_target(env, actor, zone_id))


@router.post("/ui/policy/zones/{zone_id}")
async def zone_save(
    *, request: Request, env: EnvDep, actor: AdminPage, zone_id: ZoneId
) -> Response:
    """Save the zone's rules (audited); its lanes get new signed configs."""
    return await _save(request, env, actor, await edit.zone_target(env, actor, zone_id))


@router.post("/ui/policy/lanes/{gate_id}/preview")
async def lane_preview(
    *, request: Request, env: EnvDep, actor: AdminPage, gate_id: GateId
) -> Response:
    """What the lane's edit would change; nothing is saved yet."""
    return await _preview(request, actor, await edit.lane_target(env, actor, gate_id))


@router.post("/ui/policy/lanes/{gate_id}")
async def lane_save(
    *, request: Request, env: EnvDep, actor: AdminPage, gate_id: GateId
) -> Response:
    """Save the lane's own rules (audited); the lane gets a new signed config."""
    return await _save(request, env, actor, await edit.lane_target(env, actor, gate_id))
