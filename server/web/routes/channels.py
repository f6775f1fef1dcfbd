"""Alerts to the group chat (issue 17 item 5): the channels an admin sets up (WeCom, DingTalk,
Feishu, a JSON webhook), which alert kinds go to each, a test message, and the messages that
failed after their last attempt, with a button to send one again. Admins only; the robot's URL
and secret are typed in, never shown back."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request, Response
from fastapi.responses import RedirectResponse

from server.http.deps import EnvDep
from server.services.alerts.channels import setup
from server.services.alerts.channels.vendors import VENDORS
from server.services.alerts.channels.wording import why
from server.services.context import Actor, Env
from server.web.forms import page_of, pages
from server.web.guard import AdminPage, PageRoute
from server.web.i18n import Translator
from server.web.render import language_of, page

router = APIRouter(route_class=PageRoute, include_in_schema=False)
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
Name = Annotated[str, Form(max_length=64)]
Url = Annotated[str, Form(max_length=500)]
Secret = Annotated[str, Form(max_length=200)]
Choice = Annotated[str, Form(max_length=16)]
Kinds = Annotated[list[str] | None, Form(max_length=32)]


def _words(language: str, key: str, **values: Any) -> str:
    return Translator(language)(key, **values)


def _fields(form: dict[str, str], kinds: list[str] | None) -> setup.ChannelFields:
    """The form's fields; a blank URL or secret means "keep" (None), a ticked box is "1"."""
    return setup.ChannelFields(
        name=form["name"],
        vendor=form["vendor"],
        url=form["url"] if form["url"].strip() else None,
        secret=form["secret"] if form["secret"].strip() else None,
        clear_secret=form.get("clear_secret") == "1",
        language=form["language"],
        enabled=form["enabled"] == "1",
        kinds=kinds or [],
    )


async def _list_page(request: Request, env: Env, actor: Actor, **context: Any) -> Response:
    channels = await setup.list_channels(env, actor)
    return page(
        request,
        "channels.html",
        channels=channels,
        vendors=VENDORS,
        kinds=setup.KINDS,
        languages=setup.LANGUAGES,
        **context,
    )


@router.get("/ui/channels")
async def channels_page(*, request: Request, env: EnvDep, actor: AdminPage) -> Response:
    """The channels, their routes, and the form for a new one."""
    return await _list_page(request, env, actor)


@router.post("/ui/channels")
async def create(
    *,
    request: Request,
    env: EnvDep,
    actor: AdminPage,
    name: Name,
    vendor: Choice,
    url: Url,
    secret: Secret = "",
    language: Choice = "zh-CN",
    enabled: Choice = "",
    kinds: Kinds = None,
) -> Response:
    """Add a channel (the URL is required; DingTalk's secret too)."""
    form = {"name": name, "vendor": vendor, "url": url, "secret": secret}
    fields = _fields(form | {"language": language, "enabled": enabled}, kinds)
    channel = await setup.create(env, actor, fields)
    return await _list_page(request, env, actor, saved=channel.name)


@router.get("/ui/channels/failed")
async def failed_page(*, request: Request, env: EnvDep, actor: AdminPage, p: int = 1) -> Response:
    """Messages that failed after their last attempt."""
    number = max(1, min(p, 10_000))
    rows, total = await setup.failed(env, actor, page_of(number, sort="id", descending=True))
    language = language_of(request)
    reasons = {r.delivery.id: why(_words, language, r.delivery.error or "") for r in rows}
    return page(
        request,
        "chat_failed.html",
        rows=rows,
        reasons=reasons,
        total=total,
        p=number,
        pages=pages(total),
    )


@router.post("/ui/channels/failed/{delivery_id}/retry")
async def retry(*, request: Request, env: EnvDep, actor: AdminPage, delivery_id: Id) -> Response:
    """Send a failed message again."""
    await setup.retry(env, actor, delivery_id)
    return RedirectResponse("/ui/channels/failed?retried=1", status_code=303)


@router.get("/ui/channels/{channel_id}")
async def edit_form(*, request: Request, env: EnvDep, actor: AdminPage, channel_id: Id) -> Response:
    """One channel's form."""
    channel = await setup.get_channel(env, actor, channel_id)
    return page(
        request,
        "channel_edit.html",
        channel=channel,
        vendors=VENDORS,
        kinds=setup.KINDS,
        languages=setup.LANGUAGES,
    )


@router.post("/ui/channels/{channel_id}")
async def update(
    *,
    request: Request,
    env: EnvDep,
    actor: AdminPage,
    channel_id: Id,
    name: Name,
    vendor: Choice,
    url: Url = "",
    secret: Secret = "",
    clear_secret: Choice = "",
    language: Choice = "zh-CN",
    enabled: Choice = "",
    kinds: Kinds = None,
) -> Response:
    """Save a channel (blank URL or secret: keep the stored one)."""
    form = {"name": name, "vendor": vendor, "url": url, "secret": secret}
    form |= {"language": language, "enabled": enabled, "clear_secret": clear_secret}
    fields = _fields(form, kinds)
    channel = await setup.update(env, actor, channel_id, fields)
    return await _list_page(request, env, actor, saved=channel.name)


@router.post("/ui/channels/{channel_id}/delete")
async def delete(*, request: Request, env: EnvDep, actor: AdminPage, channel_id: Id) -> Response:
    """Remove a channel."""
    await setup.delete(env, actor, channel_id)
    return RedirectResponse("/ui/channels", status_code=303)


@router.post("/ui/channels/{channel_id}/test")
async def send_test(*, request: Request, env: EnvDep, actor: AdminPage, channel_id: Id) -> Response:
    """Post a test message now and say whether the robot took it."""
    error = await setup.send_trial(env, actor, channel_id, _words)
    channel = await setup.get_channel(env, actor, channel_id)
    said = None if error is None else why(_words, language_of(request), error)
    return await _list_page(request, env, actor, tested=channel.name, test_error=said)
