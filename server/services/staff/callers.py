"""Follow-up callers: the zones in which an account may see the full phone numbers of the
residents it calls (issue 17 item 1).

An admin marks a staff account as a caller for some of the account's own zones. Admins call in
every zone of their scope without being marked (they may already reveal a number, audited). A
caller's reach is always the marked zones within the account's current scope, so narrowing the
scope narrows the calling too.
"""

from __future__ import annotations

from server.services import audit
from server.services.context import Actor, Env
from server.services.errors import Forbidden, Invalid, NotFound
from server.store import accounts, registry
from server.store import callers as store

MAX_ZONES = 64


async def set_zones(env: Env, actor: Actor, staff_id: int, zones: list[int]) -> list[int]:
    """Mark account ``staff_id`` a caller in ``zones`` (empty: no longer a caller); admins."""
    if not actor.is_admin:
        raise Forbidden("admins only")
    if len(zones) > MAX_ZONES:
        raise Invalid(f"at most {MAX_ZONES} zones")
    wanted = sorted(set(zones))
    now = env.clock.now()
    async with env.db.write() as conn:
        row = await accounts.get_staff(conn, staff_id=staff_id)
        if row is None:
            raise NotFound(f"staff {staff_id}")
        known = {z.id for z in await registry.list_zones(conn, scope=None)}
        if not set(wanted) <= known:
            raise Invalid("caller zones name unknown zones", code="desk.unknown_zone")
        if row.zone_scope is not None and not set(wanted) <= set(row.zone_scope):
            raise Invalid(
                "a caller calls only in the account's own zones", code="desk.outside_scope"
            )
        await store.set_caller_zones(conn, staff_id=staff_id, zones=wanted, now=now, by=actor.name)
        target = f"staff:{staff_id}"
        await audit.record(conn, actor, "staff.caller_zones", at=now, target=target, zones=wanted)
    return wanted


async def get_zones(env: Env, actor: Actor, staff_id: int) -> list[int]:
    """The zones account ``staff_id`` is marked a caller in (admins)."""
    if not actor.is_admin:
        raise Forbidden("admins only")
    async with env.db.read() as conn:
        if await accounts.get_staff(conn, staff_id=staff_id) is None:
            raise NotFound(f"staff {staff_id}")
        return sorted(await store.caller_zones(conn, staff_id=staff_id))


async def calling_zones(env: Env, actor: Actor) -> frozenset[int] | None:
    """Where ``actor`` may see full numbers on the call list: None for every zone, else the
    zones (empty: nowhere, the numbers stay masked)."""
    if actor.is_admin:
        return actor.scope
    if actor.staff_id is None:
        return frozenset()
    async with env.db.read() as conn:
        marked = await store.caller_zones(conn, staff_id=actor.staff_id)
    return marked if actor.scope is None else marked & actor.scope
