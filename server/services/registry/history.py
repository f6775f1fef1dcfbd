"""A resident's history for their page (issue 17 item 4): gate events (paged, newest first),
follow-up calls and home-observation changes, all in the reader's zone scope."""

from __future__ import annotations

from dataclasses import dataclass

from server.records import Event, FollowupCall
from server.services.context import Actor, Env
from server.services.errors import NotFound
from server.services.paging import Page
from server.store import people
from server.store import resident_history as store


@dataclass(frozen=True, slots=True)
class ObservationChange:
    """One change of a resident's home-observation status."""

    at: int
    status: str
    by: str
    start: int | None  # the period set (end exclusive); None when not recorded
    end: int | None


@dataclass(frozen=True, slots=True)
class History:
    """What the resident page shows beneath the resident's facts."""

    events: list[Event]
    total: int
    calls: list[FollowupCall]
    changes: list[ObservationChange]


async def history(env: Env, actor: Actor, resident_id: int, page: Page) -> History:
    """One page of the resident's gate history, their calls and observation changes."""
    async with env.db.read() as conn:
        if await people.get_resident(conn, resident_id=resident_id, scope=actor.scope) is None:
            raise NotFound(f"resident {resident_id}")
        rows, total = await store.gate_history(
            conn, resident_id=resident_id, scope=actor.scope, page=page
        )
        calls = await store.recent_calls(conn, resident_id=resident_id)
        changes = await store.observation_changes(conn, resident_id=resident_id)
    return History(rows, total, calls, [ObservationChange(*c) for c in changes])
