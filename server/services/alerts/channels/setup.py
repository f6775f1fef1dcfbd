"""The channels an admin sets up: validated, audited, their URL and secret never shown back.

A robot's URL is a credential (WeCom's carries the robot's ``key``, Feishu's a token in its
path), like its signing secret: pages show the host and the URL's last four characters, and
whether a secret is set; a blank field on the edit form keeps what is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from server.records.chat import ChatChannel, ChatDelivery
from server.services import audit
from server.services.alerts.channels import sending
from server.services.alerts.channels.vendors import SIGNED_REQUIRED, VENDORS, request_for
from server.services.alerts.channels.wording import Words, trial_text
from server.services.alerts.kinds import AlertKind
from server.services.context import Actor, Env
from server.services.errors import Conflict, Forbidden, Invalid, NotFound
from server.services.paging import Page
from server.services.text import clean_text
from server.store import chat as chat_store

LANGUAGES = ("zh-CN", "en")  # the catalogs' languages (server.web.i18n)
KINDS = tuple(k.value for k in AlertKind)


@dataclass(frozen=True, slots=True)
class ChannelFields:
    """What the form sends; ``url`` or ``secret`` None keeps the stored value."""

    name: str
    vendor: str
    url: str | None
    secret: str | None
    clear_secret: bool
    language: str
    enabled: bool
    kinds: list[str]


@dataclass(frozen=True, slots=True)
class ChannelView:
    """A channel as the pages show it: no URL in full, no secret."""

    id: int
    name: str
    vendor: str
    url_hint: str
    secret_set: bool
    language: str
    enabled: bool
    kinds: list[str]


@dataclass(frozen=True, slots=True)
class FailedView:
    """A message that failed after its last attempt, with its channel's name."""

    delivery: ChatDelivery
    channel: str


def url_hint(url: str) -> str:
    """``https://host/…abcd``: enough to recognise the robot, not enough to post to it."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}/…{url[-4:]}"


def _view(channel: ChatChannel, kinds: set[str]) -> ChannelView:
    return ChannelView(
        id=channel.id,
        name=channel.name,
        vendor=channel.vendor,
        url_hint=url_hint(channel.url),
        secret_set=bool(channel.secret),
        language=channel.language,
        enabled=channel.enabled,
        kinds=[k for k in KINDS if k in kinds],
    )


def _admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise Forbidden("only admins manage the group-chat channels")


def clean_url(value: str) -> str:
    """An http or https URL with a host (vendor hosts are not checked: tests post to loopback)."""
    url = clean_text(value, field="url", max_length=500)
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        raise Invalid("url: not a URL", code="chat.url") from None
    if parts.scheme not in ("http", "https") or not host or any(c.isspace() for c in url):
        raise Invalid("url: not an http(s) URL", code="chat.url")
    return url


def _clean(fields: ChannelFields) -> ChannelFields:
    if fields.vendor not in VENDORS:
        raise Invalid("vendor: unknown", code="chat.vendor")
    if fields.language not in LANGUAGES:
        raise Invalid("language: unknown", code="chat.language")
    unknown = [k for k in fields.kinds if k not in KINDS]
    if unknown or len(fields.kinds) > len(KINDS):
        raise Invalid("kinds: unknown alert kind", code="chat.kind")
    secret = fields.secret
    if secret is not None:
        secret = clean_text(secret, field="secret", max_length=200, required=False) or None
    return ChannelFields(
        name=clean_text(fields.name, field="name", max_length=64),
        vendor=fields.vendor,
        url=None if fields.url is None else clean_url(fields.url),
        secret=secret,
        clear_secret=fields.clear_secret,
        language=fields.language,
        enabled=fields.enabled,
        kinds=sorted(set(fields.kinds)),
    )


async def list_channels(env: Env, actor: Actor) -> list[ChannelView]:
    """Every channel, for the admin's page."""
    _admin(actor)
    async with env.db.read() as conn:
        channels = await chat_store.list_channels(conn)
        routes = await chat_store.routes(conn)
    return [_view(c, routes.get(c.id, set())) for c in channels]


async def get_channel(env: Env, actor: Actor, channel_id: int) -> ChannelView:
    """One channel, for its edit form."""
    _admin(actor)
    async with env.db.read() as conn:
        channel = await chat_store.get_channel(conn, channel_id)
        routes = await chat_store.routes(conn)
    if channel is None:
        raise NotFound(f"channel {channel_id}")
    return _view(channel, routes.get(channel_id, set()))


async def create(env: Env, actor: Actor, fields: ChannelFields) -> ChannelView:
    """A new channel with its routes; audited (never its URL or secret)."""
    _admin(actor)
    fields = _clean(fields)
    if fields.url is None:
        raise Invalid("url: required", code="chat.url")
    if fields.vendor in SIGNED_REQUIRED and not fields.secret:
        raise Invalid("secret: required for this vendor", code="chat.secret_required")
    now = env.clock.now()
    async with env.db.write() as conn:
        if await chat_store.name_taken(conn, fields.name, other_than=None):
            raise Conflict("name taken", code="chat.name_taken")
        channel = await chat_store.insert_channel(
            conn,
            ChatChannel(
                id=0,
                name=fields.name,
                vendor=fields.vendor,
                url=fields.url,
                secret=fields.secret,
                language=fields.language,
                enabled=fields.enabled,
                created_at=now,
                updated_at=now,
            ),
        )
        await chat_store.set_routes(conn, channel.id, set(fields.kinds))
        await audit.record(
            conn,
            actor,
            "chat.channel.create",
            at=now,
            target=f"chat_channel:{channel.id}",
            vendor=channel.vendor,
            kinds=fields.kinds,
            secret_set=bool(channel.secret),
        )
    return _view(channel, set(fields.kinds))


async def update(env: Env, actor: Actor, channel_id: int, fields: ChannelFields) -> ChannelView:
    """Change a channel; a blank URL or secret keeps the stored one; audited."""
    _admin(actor)
    fields = _clean(fields)
    now = env.clock.now()
    async with env.db.write() as conn:
        old = await chat_store.get_channel(conn, channel_id)
        if old is None:
            raise NotFound(f"channel {channel_id}")
        if await chat_store.name_taken(conn, fields.name, other_than=channel_id):
            raise Conflict("name taken", code="chat.name_taken")
        secret = None if fields.clear_secret else (fields.secret or old.secret)
        if fields.vendor in SIGNED_REQUIRED and not secret:
            raise Invalid("secret: required for this vendor", code="chat.secret_required")
        channel = ChatChannel(
            id=old.id,
            name=fields.name,
            vendor=fields.vendor,
            url=fields.url or old.url,
            secret=secret,
            language=fields.language,
            enabled=fields.enabled,
            created_at=old.created_at,
            updated_at=now,
        )
        await chat_store.update_channel(conn, channel)
        await chat_store.set_routes(conn, channel.id, set(fields.kinds))
        await audit.record(
            conn,
            actor,
            "chat.channel.update",
            at=now,
            target=f"chat_channel:{channel.id}",
            vendor=channel.vendor,
            kinds=fields.kinds,
            enabled=channel.enabled,
            url_changed=channel.url != old.url,
            secret_changed=channel.secret != old.secret,
        )
    return _view(channel, set(fields.kinds))


async def delete(env: Env, actor: Actor, channel_id: int) -> None:
    """Remove a channel, its routes and its unsent messages; audited."""
    _admin(actor)
    now = env.clock.now()
    async with env.db.write() as conn:
        if await chat_store.get_channel(conn, channel_id) is None:
            raise NotFound(f"channel {channel_id}")
        await chat_store.delete_channel(conn, channel_id)
        await audit.record(
            conn, actor, "chat.channel.delete", at=now, target=f"chat_channel:{channel_id}"
        )


async def send_trial(env: Env, actor: Actor, channel_id: int, words: Words) -> str | None:
    """Post a test message now (the admin waits at most the post's timeout); audited with the
    outcome. None when the robot took it, else why not."""
    _admin(actor)
    async with env.db.read() as conn:
        channel = await chat_store.get_channel(conn, channel_id)
    if channel is None:
        raise NotFound(f"channel {channel_id}")
    now = env.clock.now()
    offset = env.settings.card_utc_offset_min
    text = trial_text(words, channel.language, channel.name, now, offset)
    facts = {"kind": "test", "count": 0, "lanes": [], "link": None}
    request = request_for(
        channel.vendor, channel.url, channel.secret, text, facts=facts, now_ms=now * 1000
    )
    error = await sending.post(channel.vendor, request, timeout_s=env.settings.chat_timeout_s)
    async with env.db.write() as conn:
        await audit.record(
            conn,
            actor,
            "chat.channel.test",
            at=now,
            target=f"chat_channel:{channel_id}",
            delivered=error is None,
        )
    return error


async def failed(env: Env, actor: Actor, page: Page) -> tuple[list[FailedView], int]:
    """Messages that failed after their last attempt, newest first."""
    _admin(actor)
    async with env.db.read() as conn:
        rows, total = await chat_store.search(conn, state="failed", page=page)
        names = {c.id: c.name for c in await chat_store.list_channels(conn)}
    return [FailedView(r, names.get(r.channel_id, "")) for r in rows], total


async def retry(env: Env, actor: Actor, delivery_id: int) -> None:
    """Send a failed message again (from its first attempt); audited."""
    _admin(actor)
    now = env.clock.now()
    async with env.db.write() as conn:
        if await chat_store.get_delivery(conn, delivery_id) is None:
            raise NotFound(f"delivery {delivery_id}")
        if not await chat_store.retry(conn, delivery_id=delivery_id, now=now):
            raise Conflict("not failed", code="chat.not_failed")
        await audit.record(
            conn, actor, "chat.delivery.retry", at=now, target=f"chat_delivery:{delivery_id}"
        )
    env.hub.notify("alerts")  # wake the worker
