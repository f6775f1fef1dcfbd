"""Zones, gates and households: the registry's places, managed by admins, read in scope."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from msgspec.structs import replace

from protocol.topics import validate_id
from server.records import Gate, Household, Zone
from server.services import audit
from server.services.context import Actor, Env
from server.services.errors import Conflict, Forbidden, Invalid, NotFound
from server.services.paging import Page
from server.services.passes import phone_keys
from server.services.text import clean_label, clean_text
from server.store import passes as pass_store
from server.store import registry
from server.store.db import Connection
from server.store.errors import IntegrityViolation


def _admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise Forbidden("admins only")


def household_label(building: str, unit: str, room: str) -> str:
    """The unit label printed on passes: ``3-2-201`` (building-unit-room), at most 32 chars."""
    return "-".join(p for p in (building, unit, room) if p)[:32]


async def list_zones(env: Env, actor: Actor) -> list[Zone]:
    """Zones the actor may see."""
    async with env.db.read() as conn:
        return await registry.list_zones(conn, scope=actor.scope)


async def create_zone(env: Env, actor: Actor, zone_id: int, name: str) -> Zone:
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
            await registry.insert_zone(conn, zone_id=zone_id, site_id=site.id, name=name, now=now)
            await phone_keys.rotate(conn, env.keys_dir, zones=[zone_id], now=now)
            await audit.record(conn, actor, "zone.create", at=now, target=f"zone:{zone_id}")
            return Zone(id=zone_id, name=name, site_id=site.id, created_at=now)
    except IntegrityViolation:
        raise Conflict(f"a zone is already named {name!r}") from None


async def update_zone(env: Env, actor: Actor, zone_id: int, name: str) -> Zone:
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


async def list_gates(env: Env, actor: Actor) -> list[Gate]:
    """Gates the actor may see."""
    async with env.db.read() as conn:
        return await registry.list_gates(conn, scope=actor.scope)


@dataclass(frozen=True, slots=True)
class GateFields:
    """A gate's fields as an admin sets them; None leaves a field as it is (all are needed to
    create one)."""

    zone_id: int | None = None
    name: str | None = None
    direction: str | None = None


async def save_gate(
    env: Env, actor: Actor, gate_id: str, fields: GateFields, *, create: bool
) -> Gate:
    """Create or update a gate (admins); the id follows the protocol's id rules."""
    _admin(actor)
    try:
        validate_id(gate_id, "gate")
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    name = None if fields.name is None else clean_text(fields.name, field="name", max_length=64)
    now = env.clock.now()
    async with env.db.write() as conn:
        if (
            fields.zone_id is not None
            and await registry.get_zone(conn, zone_id=fields.zone_id) is None
        ):
            raise Invalid(f"zone {fields.zone_id} does not exist")
        current = await registry.get_gate(conn, gate_id=gate_id)
        if create and current is not None:
            raise Conflict(f"gate {gate_id} exists")
        if current is None and not create:
            raise NotFound(f"gate {gate_id}")
        if current is None:
            if fields.zone_id is None or name is None or fields.direction is None:
                raise Invalid("a new gate needs a zone, a name and a direction")
            gate = Gate(
                id=gate_id,
                zone_id=fields.zone_id,
                name=name,
                direction=fields.direction,
                created_at=now,
            )
            await registry.insert_gate(conn, gate)
        else:
            gate = replace(
                current,
                zone_id=current.zone_id if fields.zone_id is None else fields.zone_id,
                name=name or current.name,
                direction=fields.direction or current.direction,
            )
            await registry.save_gate(conn, gate)
        await audit.record(conn, actor, "gate.save", at=now, target=f"gate:{gate_id}")
        return gate


async def delete_gate(env: Env, actor: Actor, gate_id: str) -> None:
    """Remove a gate (admins)."""
    _admin(actor)
    async with env.db.write() as conn:
        if not await registry.delete_gate(conn, gate_id=gate_id):
            raise NotFound(f"gate {gate_id}")
        await audit.record(conn, actor, "gate.delete", at=env.clock.now(), target=f"gate:{gate_id}")


async def search_households(
    env: Env, actor: Actor, page: Page, **filters: Any
) -> tuple[list[Household], int]:
    """Households in the actor's scope matching the filters."""
    async with env.db.read() as conn:
        return await registry.search_households(conn, scope=actor.scope, page=page, **filters)


async def get_household(env: Env, actor: Actor, household_id: int) -> Household:
    """One household in scope."""
    async with env.db.read() as conn:
        row = await registry.get_household(conn, household_id=household_id, scope=actor.scope)
    if row is None:
        raise NotFound(f"household {household_id}")
    return row


@dataclass(frozen=True, slots=True)
class HouseholdFields:
    """A household's fields as an admin or an import sets them; None leaves a field as it is
    (all are needed to create one)."""

    zone_id: int | None = None
    building: str | None = None
    unit: str | None = None
    room: str | None = None

    def cleaned(self) -> HouseholdFields:
        """The address labels checked and normalised (a unit may be empty)."""
        return HouseholdFields(
            zone_id=self.zone_id,
            building=None if self.building is None else clean_label(self.building, "building"),
            unit=None if self.unit is None else clean_label(self.unit, "unit", required=False),
            room=None if self.room is None else clean_label(self.room, "room"),
        )


async def save_household(
    env: Env, actor: Actor, household_id: int | None, fields: HouseholdFields
) -> Household:
    """Create (``household_id`` None) or update a household (admins)."""
    _admin(actor)
    fields = fields.cleaned()
    now = env.clock.now()
    try:
        async with env.db.write() as conn:
            if (
                fields.zone_id is not None
                and await registry.get_zone(conn, zone_id=fields.zone_id) is None
            ):
                raise Invalid(f"zone {fields.zone_id} does not exist")
            if household_id is None:
                row = await _new_household(conn, fields, now)
            else:
                row = await _changed_household(conn, household_id, fields, now)
            await audit.record(conn, actor, "household.save", at=now, target=f"household:{row.id}")
            return row
    except IntegrityViolation:
        raise Conflict("a household with this building, unit and room exists") from None


async def _new_household(conn: Connection, fields: HouseholdFields, now: int) -> Household:
    if fields.zone_id is None or fields.building is None or fields.room is None:
        raise Invalid("a new household needs a zone, a building and a room")
    unit = fields.unit or ""
    return await registry.insert_household(
        conn,
        zone_id=fields.zone_id,
        building=fields.building,
        unit=unit,
        room=fields.room,
        label=household_label(fields.building, unit, fields.room),
        now=now,
    )


async def _changed_household(
    conn: Connection, household_id: int, fields: HouseholdFields, now: int
) -> Household:
    current = await registry.get_household(conn, household_id=household_id)
    if current is None:
        raise NotFound(f"household {household_id}")
    building = current.building if fields.building is None else fields.building
    unit = current.unit if fields.unit is None else fields.unit
    room = current.room if fields.room is None else fields.room
    row = replace(
        current,
        zone_id=current.zone_id if fields.zone_id is None else fields.zone_id,
        building=building,
        unit=unit,
        room=room,
        label=household_label(building, unit, room),
        updated_at=now,
    )
    await registry.save_household(conn, row)
    return row


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
) -> Household:
    """Put a whole household under home observation until ``until`` (None clears it)."""
    now = env.clock.now()
    if until is not None and until <= now:
        raise Invalid("the hold must end in the future")
    async with env.db.write() as conn:
        current = await registry.get_household(conn, household_id=household_id, scope=actor.scope)
        if current is None:
            raise NotFound(f"household {household_id}")
        row = replace(current, hold_until=until)
        await registry.save_household(conn, row)
        await pass_store.bump_counter(conn, name=pass_store.REVOCATION_SEQ)
        await audit.record(
            conn, actor, "household.hold", at=now, target=f"household:{household_id}", until=until
        )
        return row
