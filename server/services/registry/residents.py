"""Residents: registration, changes, home-observation status and the audited phone reveal."""

from __future__ import annotations

from typing import Any

from server.services import audit
from server.services.context import Actor, Env
from server.services.errors import Conflict, Forbidden, Invalid, NotFound
from server.services.paging import Page
from server.services.text import NOTE_MAX, clean_name, clean_text, normalise_phone
from server.store import passes as pass_store
from server.store import people, registry
from server.store.errors import IntegrityViolation

ROLES = ("owner", "tenant", "family")
STATUSES = ("normal", "home_observation")


def clean_resident(values: dict[str, Any]) -> dict[str, Any]:
    """Apply the text rules to the fields present (name, phone, note)."""
    out = dict(values)
    if "name" in out:
        out["name"] = clean_name(out["name"])
    if out.get("phone") is not None:
        out["phone"] = normalise_phone(out["phone"])
    if out.get("note") is not None:
        out["note"] = clean_text(out["note"], field="note", max_length=NOTE_MAX, required=False)
    if "role" in out and out["role"] not in ROLES:
        raise Invalid(f"role must be one of {', '.join(ROLES)}")
    return out


async def search(
    env: Env, actor: Actor, page: Page, **filters: Any
) -> tuple[list[dict[str, Any]], int]:
    """Residents in the actor's scope matching the filters."""
    if filters.get("phone") is not None:
        filters["phone"] = normalise_phone(filters["phone"])
    async with env.db.read() as conn:
        return await people.search_residents(conn, scope=actor.scope, page=page, **filters)


async def get(env: Env, actor: Actor, resident_id: int) -> dict[str, Any]:
    """One resident in scope."""
    async with env.db.read() as conn:
        row = await people.get_resident(conn, resident_id=resident_id, scope=actor.scope)
    if row is None:
        raise NotFound(f"resident {resident_id}")
    return row


async def save(
    env: Env, actor: Actor, resident_id: int | None, values: dict[str, Any]
) -> dict[str, Any]:
    """Create (``resident_id`` None) or update a resident (admins)."""
    if not actor.is_admin:
        raise Forbidden("admins only")
    values = clean_resident(values)
    now = env.clock.now()
    try:
        async with env.db.write() as conn:
            if "household_id" in values:
                household = await registry.get_household(conn, household_id=values["household_id"])
                if household is None:
                    raise Invalid(f"household {values['household_id']} does not exist")
            if resident_id is None:
                resident_id = await people.insert_resident(
                    conn, values={**values, "created_at": now, "updated_at": now}
                )
                action = "resident.create"
            else:
                if not await people.update_resident(
                    conn, resident_id=resident_id, values={**values, "updated_at": now}
                ):
                    raise NotFound(f"resident {resident_id}")
                action = "resident.update"
            await audit.record(
                conn, actor, action, at=now, target=f"resident:{resident_id}", fields=sorted(values)
            )
            row = await people.get_resident(conn, resident_id=resident_id)
            assert row is not None
            return row
    except IntegrityViolation:
        raise Conflict("this household already has a resident with this name") from None


async def set_observation(
    env: Env, actor: Actor, resident_id: int, *, status: str, start: int | None, end: int | None
) -> dict[str, Any]:
    """Change home-observation status (health data: audited; holds the resident's passes)."""
    if status not in STATUSES:
        raise Invalid(f"status must be one of {', '.join(STATUSES)}")
    if status == "normal":
        start, end = None, None
    elif start is not None and end is not None and end <= start:
        raise Invalid("observation must end after it starts")
    now = env.clock.now()
    async with env.db.write() as conn:
        if await people.get_resident(conn, resident_id=resident_id, scope=actor.scope) is None:
            raise NotFound(f"resident {resident_id}")
        values = {
            "status": status,
            "observation_start": start,
            "observation_end": end,
            "updated_at": now,
        }
        await people.update_resident(conn, resident_id=resident_id, values=values)
        await pass_store.bump_counter(conn, name=pass_store.REVOCATION_SEQ)
        await audit.record(
            conn,
            actor,
            "resident.observation",
            at=now,
            target=f"resident:{resident_id}",
            status=status,
        )
        row = await people.get_resident(conn, resident_id=resident_id)
        assert row is not None
        return row


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
        return row["phone"]  # type: ignore[no-any-return]
