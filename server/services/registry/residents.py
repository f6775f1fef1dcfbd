"""Residents: registration, changes, home-observation status and the audited phone reveal."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from msgspec.structs import replace

from server.records import Resident, ResidentData
from server.services import audit
from server.services.changes import KEEP, Keep, pick
from server.services.context import Actor, Env
from server.services.errors import Conflict, Forbidden, Invalid, NotFound
from server.services.paging import Page
from server.services.passes import issuing
from server.services.staff.throttle import Limit, count_attempt
from server.services.text import NOTE_MAX, clean_name, clean_text, normalise_phone
from server.store import passes as pass_store
from server.store import people, registry
from server.store.errors import IntegrityViolation

ROLES = ("owner", "tenant", "family")
STATUSES = ("normal", "home_observation")


@dataclass(frozen=True, slots=True)
class ResidentFields:
    """A resident's fields as an admin, the desk or an import sets them; KEEP leaves a field
    as it is (a new resident needs a household, a name and a role; the rest default to none)."""

    household_id: int | Keep = KEEP
    name: str | Keep = KEEP
    phone: str | Keep | None = KEEP
    role: str | Keep = KEEP
    note: str | Keep | None = KEEP
    consent_version: str | Keep | None = KEEP
    consent_at: int | Keep | None = KEEP

    def present(self) -> list[str]:
        """The names of the fields that change."""
        return [f for f in self.__slots__ if not isinstance(getattr(self, f), Keep)]


def clean_resident(fields: ResidentFields) -> ResidentFields:
    """Apply the text rules to the fields present (name, phone, note, role)."""
    if isinstance(fields.role, str) and fields.role not in ROLES:
        raise Invalid(f"role must be one of {', '.join(ROLES)}")
    return dataclasses.replace(
        fields,
        name=fields.name if isinstance(fields.name, Keep) else clean_name(fields.name),
        phone=normalise_phone(fields.phone) if isinstance(fields.phone, str) else fields.phone,
        note=clean_text(fields.note, field="note", max_length=NOTE_MAX, required=False)
        if isinstance(fields.note, str)
        else fields.note,
    )


def new_resident(fields: ResidentFields, now: int) -> ResidentData:
    """The row of a resident registered now with ``fields`` (checked already)."""
    if isinstance(fields.household_id, Keep) or isinstance(fields.name, Keep):
        raise Invalid("a new resident needs a household and a name")
    if isinstance(fields.role, Keep):
        raise Invalid(f"role must be one of {', '.join(ROLES)}")
    return ResidentData(
        household_id=fields.household_id,
        name=fields.name,
        phone=pick(fields.phone, None),
        role=fields.role,
        status="normal",
        observation_start=None,
        observation_end=None,
        consent_version=pick(fields.consent_version, None),
        consent_at=pick(fields.consent_at, None),
        note=pick(fields.note, None),
        created_at=now,
        updated_at=now,
    )


def changed_resident(current: ResidentData, fields: ResidentFields, now: int) -> ResidentData:
    """``current`` with ``fields`` applied (checked already), updated now."""
    return ResidentData(
        household_id=pick(fields.household_id, current.household_id),
        name=pick(fields.name, current.name),
        phone=pick(fields.phone, current.phone),
        role=pick(fields.role, current.role),
        status=current.status,
        observation_start=current.observation_start,
        observation_end=current.observation_end,
        consent_version=pick(fields.consent_version, current.consent_version),
        consent_at=pick(fields.consent_at, current.consent_at),
        note=pick(fields.note, current.note),
        created_at=current.created_at,
        updated_at=now,
    )


def _data(row: Resident) -> ResidentData:
    """The table's part of a resident read with its household's zone and label."""
    fields = {f: getattr(row, f) for f in ResidentData.__struct_fields__}
    return ResidentData(**fields)


async def search(env: Env, actor: Actor, page: Page, **filters: Any) -> tuple[list[Resident], int]:
    """Residents in the actor's scope matching the filters; a whole phone number is a reveal
    (``phone_reveal``)."""
    if filters.get("phone") is not None:
        filters["phone"] = normalise_phone(filters["phone"])
        await phone_reveal(env, actor, filters["phone"])
    async with env.db.read() as conn:
        return await people.search_residents(conn, scope=actor.scope, page=page, **filters)


async def get(env: Env, actor: Actor, resident_id: int) -> Resident:
    """One resident in scope."""
    async with env.db.read() as conn:
        row = await people.get_resident(conn, resident_id=resident_id, scope=actor.scope)
    if row is None:
        raise NotFound(f"resident {resident_id}")
    return row


async def save(env: Env, actor: Actor, resident_id: int | None, fields: ResidentFields) -> Resident:
    """Create (``resident_id`` None) or update a resident (admins)."""
    if not actor.is_admin:
        raise Forbidden("admins only")
    fields = clean_resident(fields)
    now = env.clock.now()
    try:
        async with env.db.write() as conn:
            household = fields.household_id
            if (
                not isinstance(household, Keep)
                and await registry.get_household(conn, household_id=household) is None
            ):
                raise Invalid(f"household {household} does not exist")
            if resident_id is None:
                resident_id = await people.insert_resident(conn, new_resident(fields, now))
                action = "resident.create"
            else:
                current = await people.get_resident(conn, resident_id=resident_id)
                if current is None:
                    raise NotFound(f"resident {resident_id}")
                changed = changed_resident(_data(current), fields, now)
                await people.save_resident(conn, resident_id, changed)
                action = "resident.update"
                if (changed.phone, changed.household_id) != (current.phone, current.household_id):
                    # the passes carry the old phone's tag (or unit): reissue, revoke the old
                    await issuing.reissue_resident(conn, env, actor, resident_id, "phone changed")
            target = f"resident:{resident_id}"
            await audit.record(conn, actor, action, at=now, target=target, fields=fields.present())
            row = await people.get_resident(conn, resident_id=resident_id)
            assert row is not None
            return row
    except IntegrityViolation:
        raise Conflict("this household already has a resident with this name") from None


async def set_observation(
    env: Env, actor: Actor, resident_id: int, *, status: str, start: int | None, end: int | None
) -> Resident:
    """Change home-observation status (health data: audited; holds the resident's passes)."""
    if status not in STATUSES:
        raise Invalid(f"status must be one of {', '.join(STATUSES)}")
    if status == "normal":
        start, end = None, None
    elif start is not None and end is not None and end <= start:
        raise Invalid("observation must end after it starts")
    now = env.clock.now()
    async with env.db.write() as conn:
        current = await people.get_resident(conn, resident_id=resident_id, scope=actor.scope)
        if current is None:
            raise NotFound(f"resident {resident_id}")
        changed = replace(
            _data(current),
            status=status,
            observation_start=start,
            observation_end=end,
            updated_at=now,
        )
        await people.save_resident(conn, resident_id, changed)
        await pass_store.bump_counter(conn, name=pass_store.REVOCATION_SEQ)
        await audit.record(
            conn,
            actor,
            "resident.observation",
            at=now,
            target=f"resident:{resident_id}",
            status=status,
            start=start,
            end=end,
        )
        row = await people.get_resident(conn, resident_id=resident_id)
        assert row is not None
        return row


async def phone_reveal(env: Env, actor: Actor, phone: str) -> None:
    """Allow a search by a whole phone number, which says whose number it is: admins only, at
    most ``phone_search_limit`` a window (``login_window_s``), each one audited (never the
    number: its last four digits)."""
    if not actor.is_admin:
        raise Forbidden("only admins search by a whole phone number; staff type its last 4 digits")
    now = env.clock.now()
    guard = [Limit(f"phone-search:{actor.name}", env.settings.phone_search_limit)]
    async with env.db.write() as conn:
        await count_attempt(conn, env, guard, now)
        await audit.record(conn, actor, "resident.search_phone", at=now, last4=phone[-4:])


async def reveal_phone(env: Env, actor: Actor, resident_id: int, reason: str) -> str | None:
    """The full phone number, for admins, with an audit row saying who looked and why."""
    if not actor.is_admin:
        raise Forbidden("admins only")
    reason = clean_text(reason, field="reason", max_length=200)
    async with env.db.write() as conn:
        row = await people.get_resident(conn, resident_id=resident_id, scope=actor.scope)
        if row is None:
            raise NotFound(f"resident {resident_id}")
        await audit.record(
            conn,
            actor,
            "resident.reveal_phone",
            at=env.clock.now(),
            target=f"resident:{resident_id}",
            reason=reason,
        )
        return row.phone
