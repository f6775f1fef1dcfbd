"""Zones, gates and households: the registry's places, managed by admins, read in scope."""

from __future__ import annotations

from typing import Any

from protocol.topics import validate_id
from server.services import audit
from server.services.context import Actor, Env
from server.services.errors import Conflict, Forbidden, Invalid, NotFound
from server.services.paging import Page
from server.services.text import clean_label, clean_text
from server.store import passes as pass_store
from server.store import registry
from server.store.errors import IntegrityViolation


def _admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise Forbidden("admins only")


def household_label(building: str, unit: str, room: str) -> str:
    """The unit label printed on passes: ``3-2-201`` (building-unit-room), at most 32 chars."""
    return "-".join(p for p in (building, unit, room) if p)[:32]


async def list_zones(env: Env, actor: Actor) -> list[dict[str, Any]]:
    """Zones the actor may see."""
    async with env.db.read() as conn:
        return await registry.list_zones(conn, scope=actor.scope)


async def create_zone(env: Env, actor: Actor, zone_id: int, name: str) -> dict[str, Any]:
    """Add a zone (admins)."""
    _admin(actor)
    name = clean_text(name, field="name", max_length=64)
    now = env.clock.now()
    try:
        async with env.db.write() as conn:
            if await registry.get_zone(conn, zone_id=zone_id) is not None:
                raise Conflict(f"zone {zone_id} exists")
            site = await registry.get_site(conn)
            if site is None:
                raise Conflict("the site is not initialised")
            await registry.insert_zone(
                conn, zone_id=zone_id, site_id=site["id"], name=name, now=now
            )
            await audit.record(conn, actor, "zone.create", at=now, target=f"zone:{zone_id}")
            return {"id": zone_id, "name": name, "site_id": site["id"], "created_at": now}
    except IntegrityViolation:
        raise Conflict(f"a zone is already named {name!r}") from None


async def update_zone(env: Env, actor: Actor, zone_id: int, name: str) -> dict[str, Any]:
    """Rename a zone (admins)."""
    _admin(actor)
    name = clean_text(name, field="name", max_length=64)
    try:
        async with env.db.write() as conn:
            if not await registry.update_zone(conn, zone_id=zone_id, name=name):
                raise NotFound(f"zone {zone_id}")
            await audit.record(
                conn, actor, "zone.update", at=env.clock.now(), target=f"zone:{zone_id}"
            )
            row = await registry.get_zone(conn, zone_id=zone_id)
            assert row is not None
            return row
    except IntegrityViolation:
        raise Conflict(f"a zone is already named {name!r}") from None


async def delete_zone(env: Env, actor: Actor, zone_id: int) -> None:
    """Delete a zone with no households or gates (admins)."""
    _admin(actor)
    async with env.db.write() as conn:
        if await registry.zone_in_use(conn, zone_id=zone_id):
            raise Conflict(f"zone {zone_id} still has households or gates")
        if not await registry.delete_zone(conn, zone_id=zone_id):
            raise NotFound(f"zone {zone_id}")
        await audit.record(conn, actor, "zone.delete", at=env.clock.now(), target=f"zone:{zone_id}")


async def list_gates(env: Env, actor: Actor) -> list[dict[str, Any]]:
    """Gates the actor may see."""
    async with env.db.read() as conn:
        return await registry.list_gates(conn, scope=actor.scope)


async def save_gate(
    env: Env, actor: Actor, gate_id: str, values: dict[str, Any], *, create: bool
) -> dict[str, Any]:
    """Create or update a gate (admins); the id follows the protocol's id rules."""
    _admin(actor)
    try:
        validate_id(gate_id, "gate")
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    if "name" in values:
        values["name"] = clean_text(values["name"], field="name", max_length=64)
    now = env.clock.now()
    async with env.db.write() as conn:
        if "zone_id" in values and await registry.get_zone(conn, zone_id=values["zone_id"]) is None:
            raise Invalid(f"zone {values['zone_id']} does not exist")
        exists = await registry.get_gate(conn, gate_id=gate_id) is not None
        if create and exists:
            raise Conflict(f"gate {gate_id} exists")
        if not create and not exists:
            raise NotFound(f"gate {gate_id}")
        if create:
            await registry.insert_gate(conn, values={"id": gate_id, "created_at": now, **values})
        elif values:
            await registry.update_gate(conn, gate_id=gate_id, values=values)
        await audit.record(conn, actor, "gate.save", at=now, target=f"gate:{gate_id}")
        row = await registry.get_gate(conn, gate_id=gate_id)
        assert row is not None
        return row


async def delete_gate(env: Env, actor: Actor, gate_id: str) -> None:
    """Remove a gate (admins)."""
    _admin(actor)
    async with env.db.write() as conn:
        if not await registry.delete_gate(conn, gate_id=gate_id):
            raise NotFound(f"gate {gate_id}")
        await audit.record(conn, actor, "gate.delete", at=env.clock.now(), target=f"gate:{gate_id}")


async def search_households(
    env: Env, actor: Actor, page: Page, **filters: Any
) -> tuple[list[dict[str, Any]], int]:
    """Households in the actor's scope matching the filters."""
    async with env.db.read() as conn:
        return await registry.search_households(conn, scope=actor.scope, page=page, **filters)


async def get_household(env: Env, actor: Actor, household_id: int) -> dict[str, Any]:
    """One household in scope."""
    async with env.db.read() as conn:
        row = await registry.get_household(conn, household_id=household_id, scope=actor.scope)
    if row is None:
        raise NotFound(f"household {household_id}")
    return row


def _address(values: dict[str, Any]) -> dict[str, Any]:
    out = dict(values)
    for field in ("building", "unit", "room"):
        if field in out:
            out[field] = (
                clean_label(out[field], field)
                if field != "unit"
                else clean_text(out[field], field="unit", max_length=32, required=False)
            )
    return out


async def save_household(
    env: Env, actor: Actor, household_id: int | None, values: dict[str, Any]
) -> dict[str, Any]:
    """Create (``household_id`` None) or update a household (admins)."""
    _admin(actor)
    values = _address(values)
    now = env.clock.now()
    try:
        async with env.db.write() as conn:
            if (
                "zone_id" in values
                and await registry.get_zone(conn, zone_id=values["zone_id"]) is None
            ):
                raise Invalid(f"zone {values['zone_id']} does not exist")
            current = (
                {}
                if household_id is None
                else await registry.get_household(conn, household_id=household_id)
            )
            if current is None:
                raise NotFound(f"household {household_id}")
            merged = {**current, **values}
            values["label"] = household_label(merged["building"], merged["unit"], merged["room"])
            values["updated_at"] = now
            if household_id is None:
                household_id = await registry.insert_household(
                    conn, values={**values, "created_at": now}
                )
            else:
                await registry.update_household(conn, household_id=household_id, values=values)
            await audit.record(
                conn, actor, "household.save", at=now, target=f"household:{household_id}"
            )
            row = await registry.get_household(conn, household_id=household_id)
            assert row is not None
            return row
    except IntegrityViolation:
        raise Conflict("a household with this building, unit and room exists") from None


async def delete_household(env: Env, actor: Actor, household_id: int) -> None:
    """Delete a household with no residents (admins)."""
    _admin(actor)
    async with env.db.write() as conn:
        if await registry.household_has_residents(conn, household_id=household_id):
            raise Conflict(f"household {household_id} still has residents")
        if await pass_store.active_passes(conn, now=env.clock.now(), household_id=household_id):
            raise Conflict(f"household {household_id} still has live passes: revoke them first")
        try:
            deleted = await registry.delete_household(conn, household_id=household_id)
        except IntegrityViolation:
            raise Conflict(f"household {household_id} is still referenced") from None
        if not deleted:
            raise NotFound(f"household {household_id}")
        await audit.record(
            conn, actor, "household.delete", at=env.clock.now(), target=f"household:{household_id}"
        )


async def set_household_hold(
    env: Env, actor: Actor, household_id: int, until: int | None
) -> dict[str, Any]:
    """Put a whole household under home observation until ``until`` (None clears it)."""
    now = env.clock.now()
    if until is not None and until <= now:
        raise Invalid("the hold must end in the future")
    async with env.db.write() as conn:
        if await registry.get_household(conn, household_id=household_id, scope=actor.scope) is None:
            raise NotFound(f"household {household_id}")
        await registry.update_household(
            conn, household_id=household_id, values={"hold_until": until}
        )
        await pass_store.bump_counter(conn, name=pass_store.REVOCATION_SEQ)
        await audit.record(
            conn, actor, "household.hold", at=now, target=f"household:{household_id}", until=until
        )
        row = await registry.get_household(conn, household_id=household_id)
        assert row is not None
        return row
