"""Reading what ingest stored: gate events for staff (in their zones), dead letters for admins."""

from __future__ import annotations

from typing import Any

from server.records import DeadLetter, Event
from server.services.context import Actor, Env
from server.services.errors import Forbidden, NotFound
from server.services.paging import Page
from server.store import event_log


async def search_events(
    env: Env,
    actor: Actor,
    page: Page,
    *,
    filters: dict[str, Any],
    since_ms: int | None = None,
    until_ms: int | None = None,
) -> tuple[list[Event], int]:
    """Events of gates in the actor's zones matching the filters (unknown keys are ignored)."""
    wanted = {k: v for k, v in filters.items() if k in event_log.EVENT_FILTERS and v is not None}
    async with env.db.read() as conn:
        return await event_log.search_events(
            conn, scope=actor.scope, page=page, filters=wanted, since_ms=since_ms, until_ms=until_ms
        )


async def search_dead_letters(
    env: Env, actor: Actor, page: Page, *, reason: str | None = None, gate: str | None = None
) -> tuple[list[DeadLetter], int]:
    """Messages ingest refused (admins): when, which topic, why; payloads on request."""
    if not actor.is_admin:
        raise Forbidden("admins only")
    async with env.db.read() as conn:
        return await event_log.search_dead_letters(conn, page=page, reason=reason, gate=gate)


async def get_dead_letter(env: Env, actor: Actor, letter_id: int) -> DeadLetter:
    """One dead letter with its payload (at most 64 KiB of it) for inspection (admins)."""
    if not actor.is_admin:
        raise Forbidden("admins only")
    async with env.db.read() as conn:
        row = await event_log.get_dead_letter(conn, letter_id=letter_id)
    if row is None:
        raise NotFound(f"dead letter {letter_id}")
    return row
