"""Visitor registration at the desk: a visitor row and a short-lived pass for their host's zone."""

from __future__ import annotations

from typing import Any

from protocol.claims import PassKind
from server.records import Pass, Visitor
from server.services.context import Actor, Env
from server.services.errors import Invalid, NotFound
from server.services.paging import Page
from server.services.passes.issuing import Holder, sign_for
from server.services.text import clean_name, clean_text, normalise_phone
from server.store import people, registry

MAX_USES = 20


async def register(
    env: Env,
    actor: Actor,
    *,
    host_household_id: int,
    name: str,
    phone: str,
    purpose: str,
    hours: int,
    uses: int,
) -> tuple[Visitor, Pass]:
    """Register a visitor and issue their pass (valid ``hours``, at most ``uses`` entries)."""
    if not 1 <= hours <= env.settings.visitor_max_hours:
        raise Invalid(f"hours must be 1-{env.settings.visitor_max_hours}")
    if not 1 <= uses <= MAX_USES:
        raise Invalid(f"uses must be 1-{MAX_USES}")
    name, phone = clean_name(name), normalise_phone(phone)
    purpose = clean_text(purpose, field="purpose", max_length=200)
    now = env.clock.now()
    async with env.db.write() as conn:
        host = await registry.get_household(conn, household_id=host_household_id, scope=actor.scope)
        if host is None:
            raise NotFound(f"household {host_household_id}")
        visitor_id = await people.insert_visitor(
            conn,
            host_household_id=host_household_id,
            name=name,
            phone=phone,
            purpose=purpose,
            valid_from=now,
            valid_until=now + hours * 3600,
            registered_by=actor.staff_id,
            now=now,
        )
        holder = Holder(
            kind=PassKind.VISITOR,
            column="visitor_id",
            holder_id=visitor_id,
            zones=(host.zone_id,),
            name=name,
            phone=phone,
            host=host_household_id,
            unit=host.label,
            uses=uses,
        )
        issued = await sign_for(conn, env, actor, holder, expires=now + hours * 3600)
        visitor = await people.get_visitor(conn, visitor_id=visitor_id)
        assert visitor is not None
        return visitor, issued


async def get(env: Env, actor: Actor, visitor_id: int) -> Visitor:
    """One visitor whose host is in scope."""
    async with env.db.read() as conn:
        row = await people.get_visitor(conn, visitor_id=visitor_id, scope=actor.scope)
    if row is None:
        raise NotFound(f"visitor {visitor_id}")
    return row


async def search(env: Env, actor: Actor, page: Page, **filters: Any) -> tuple[list[Visitor], int]:
    """Visitors whose hosts are in scope."""
    async with env.db.read() as conn:
        return await people.search_visitors(conn, scope=actor.scope, page=page, **filters)
