"""Reading passes: listing them (by holder, household or kind) and one pass, in the actor's
zone scope."""

from __future__ import annotations

from typing import Any

from server.records import Pass
from server.services.context import Actor, Env
from server.services.errors import NotFound
from server.services.paging import Page
from server.store import passes as pass_store


async def search(
    env: Env, actor: Actor, page: Page, filters: dict[str, Any], *, active_only: bool
) -> tuple[list[Pass], int]:
    """Passes in scope matching the filters (holder or household ids, kind)."""
    async with env.db.read() as conn:
        active_at = env.clock.now() if active_only else None
        return await pass_store.search_passes(
            conn, scope=actor.scope, page=page, filters=filters, active_at=active_at
        )


async def get(env: Env, actor: Actor, pass_row: int) -> Pass:
    """One pass in scope."""
    async with env.db.read() as conn:
        row = await pass_store.get_pass(conn, pass_row=pass_row, scope=actor.scope)
    if row is None:
        raise NotFound(f"pass {pass_row}")
    return row
