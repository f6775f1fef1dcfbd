"""The event log as the staff UI shows it: the filtered log and its CSV rows, the live feed of
new events, and one event as an alert's card shows it. Everything is read in the actor's zone
scope, joined with the unit and masked name of the pass holder (server.store.reports).
"""

from __future__ import annotations

from server.records import EventView
from server.services import audit
from server.services.context import Actor, Env
from server.services.errors import Forbidden, Invalid
from server.services.paging import Page
from server.services.text import clean_text
from server.store import reports as store
from server.store.reports import EventFilter

REASON_REQUIRED = "exports.reason_required"  # the error code of a full-name export without one
REASON_MAX = 200

__all__ = [
    "EventFilter",
    "event_by_id",
    "export",
    "export_full_names",
    "latest_event_id",
    "new_events",
    "search",
]


async def search(
    env: Env, actor: Actor, page: Page, where: EventFilter
) -> tuple[list[EventView], int]:
    """One page of the event log."""
    async with env.db.read() as conn:
        return await store.search_events(conn, scope=actor.scope, page=page, where=where)


async def export(env: Env, actor: Actor, where: EventFilter) -> list[EventView]:
    """Every matching event for a CSV download (capped at store.EXPORT_LIMIT)."""
    async with env.db.read() as conn:
        return await store.export_events(conn, scope=actor.scope, where=where)


async def export_full_names(
    env: Env, actor: Actor, where: EventFilter, *, reason: str, filters: dict[str, str]
) -> list[EventView]:
    """Every matching event with the holders' full names (admins), for a stated reason: the
    reason, the filter and how many rows left go to the audit log (never the names)."""
    if not actor.is_admin:
        raise Forbidden("admins only")
    text = clean_text(reason, field="reason", max_length=REASON_MAX, required=False)
    if not text:
        raise Invalid("say why full names are exported", code=REASON_REQUIRED)
    rows = await export(env, actor, where)
    async with env.db.write() as conn:
        await audit.record(
            conn,
            actor,
            "events.export_names",
            at=env.clock.now(),
            reason=text,
            filters={k: v for k, v in filters.items() if v},
            rows=len(rows),
        )
    return rows


async def new_events(
    env: Env, actor: Actor, *, after_id: int, gate: str | None, limit: int = 50
) -> list[EventView]:
    """Events stored after ``after_id`` that the actor may see (the live feed)."""
    async with env.db.read() as conn:
        return await store.events_after(
            conn, scope=actor.scope, after_id=after_id, gate=gate, limit=limit
        )


async def latest_event_id(env: Env) -> int:
    """Where a new live feed starts."""
    async with env.db.read() as conn:
        return await store.latest_event_id(conn)


async def event_by_id(env: Env, actor: Actor, event_id: str | None) -> EventView | None:
    """The event ``event_id`` as the scan card shows it, if its gate is in the actor's zones."""
    if event_id is None:
        return None
    async with env.db.read() as conn:
        return await store.event_by_event_id(conn, scope=actor.scope, event_id=event_id)
