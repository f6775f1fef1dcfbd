"""Staff accounts: admins create them with a one-time password and set role and zone scope."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

from msgspec.structs import replace

from server.records import Staff
from server.services import audit
from server.services.changes import KEEP, Keep
from server.services.context import Actor, Env
from server.services.errors import Conflict, Forbidden, Invalid, NotFound
from server.services.staff.auth import Session
from server.services.staff.password_rules import check_password
from server.services.staff.passwords import hash_password, one_time_password, verify_password
from server.services.staff.throttle import Limit, count_attempt, hand_back
from server.services.text import clean_name
from server.store import accounts, registry
from server.store.db import Connection

ROLES = ("admin", "staff")
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,31}$")


@dataclass(frozen=True, slots=True)
class StaffChanges:
    """What an admin changes on an account; None (KEEP for the scope) leaves a field alone."""

    role: str | None = None
    display_name: str | None = None
    active: bool | None = None
    zone_scope: list[int] | Keep | None = KEEP  # None: every zone

    def present(self) -> list[str]:
        """The names of the fields that change."""
        out = [n for n in ("role", "display_name", "active") if getattr(self, n) is not None]
        return out + ([] if self.zone_scope is KEEP else ["zone_scope"])


def _admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise Forbidden("admins only")


def public(row: Staff) -> Staff:
    """An account without its password hash (blanked, so it cannot leave by mistake)."""
    return replace(row, password_hash="")


async def _check_scope(conn: Connection, scope: list[int] | None) -> list[int] | None:
    if scope is None:
        return None
    known = {z.id for z in await registry.list_zones(conn, scope=None)}
    if not set(scope) <= known:
        raise Invalid("zone scope names unknown zones")
    return sorted(set(scope))


async def create(
    env: Env,
    actor: Actor,
    *,
    username: str,
    display_name: str,
    role: str,
    zone_scope: list[int] | None,
    all_zones: bool = False,
) -> tuple[Staff, str]:
    """Add an account; returns it and its one-time password (shown once).

    The zones are said, never implied: ``zone_scope`` names them, or ``all_zones`` asks for
    every zone (an account made without either used to act in every zone)."""
    _admin(actor)
    if all_zones == bool(zone_scope):
        raise Invalid(
            "say which zones the account may act in (zone_scope), or all_zones, not both",
            code="staff.zone_required",
        )
    if not _USERNAME.fullmatch(username):
        raise Invalid("user names are 2-32 of a-z 0-9 . _ -, starting with a letter or digit")
    if role not in ROLES:
        raise Invalid(f"role must be one of {', '.join(ROLES)}")
    password, now = one_time_password(), env.clock.now()
    async with env.db.write() as conn:
        if await accounts.find_staff(conn, username=username) is not None:
            raise Conflict(f"user {username} exists")
        row = await accounts.insert_staff(
            conn,
            username=username,
            display_name=clean_name(display_name, "display_name"),
            password_hash=hash_password(password),
            role=role,
            zone_scope=None if all_zones else await _check_scope(conn, zone_scope),
            now=now,
        )
        await audit.record(conn, actor, "staff.create", at=now, target=f"staff:{row.id}", role=role)
    return public(row), password


async def update(env: Env, actor: Actor, staff_id: int, changes: StaffChanges) -> Staff:
    """Change role, scope, name or active flag; ends the account's sessions."""
    _admin(actor)
    now = env.clock.now()
    async with env.db.write() as conn:
        row = await accounts.get_staff(conn, staff_id=staff_id)
        if row is None:
            raise NotFound(f"staff {staff_id}")
        new = await _changed(conn, row, changes)
        demoted = new.role != "admin" or not new.active
        if row.role == "admin" and demoted and await accounts.count_admins(conn) <= 1:
            raise Conflict("the last admin cannot be demoted or deactivated")
        new = replace(new, updated_at=now, generation=row.generation + 1)
        await accounts.save_staff(conn, new)
        await accounts.delete_sessions_of(conn, staff_id=staff_id)
        fields = sorted([*changes.present(), "updated_at", "generation"])
        await audit.record(
            conn, actor, "staff.update", at=now, target=f"staff:{staff_id}", fields=fields
        )
    return public(new)


async def _changed(conn: Connection, row: Staff, changes: StaffChanges) -> Staff:
    """The account with ``changes`` applied, each checked."""
    if changes.role is not None and changes.role not in ROLES:
        raise Invalid(f"role must be one of {', '.join(ROLES)}")
    scope = row.zone_scope
    if not isinstance(changes.zone_scope, Keep):
        scope = await _check_scope(conn, changes.zone_scope)
    name = row.display_name
    if changes.display_name is not None:
        name = clean_name(changes.display_name, "display_name")
    return replace(
        row,
        role=changes.role or row.role,
        zone_scope=scope,
        display_name=name,
        active=row.active if changes.active is None else changes.active,
    )


async def reset_password(env: Env, actor: Actor, staff_id: int) -> str:
    """A new one-time password for an account (admins); ends its sessions."""
    _admin(actor)
    password, now = one_time_password(), env.clock.now()
    async with env.db.write() as conn:
        row = await accounts.get_staff(conn, staff_id=staff_id)
        if row is None:
            raise NotFound(f"staff {staff_id}")
        new = replace(
            row,
            password_hash=hash_password(password),
            must_change_password=True,
            generation=row.generation + 1,
        )
        await accounts.save_staff(conn, new)
        await accounts.delete_sessions_of(conn, staff_id=staff_id)
        await audit.record(conn, actor, "staff.reset_password", at=now, target=f"staff:{staff_id}")
    return password


async def change_password(env: Env, session: Session, actor: Actor, old: str, new: str) -> None:
    """Change one's own password; every session of the account ends (log in again).

    Guesses of the current password are counted before they are checked and audited, like
    sign-ins (a stolen session must not become a way to guess the password); the new password
    must differ from the old one (a one-time password is not kept by "changing" it to itself)
    and meet server.services.staff.password_rules, which refuses it naming the rule it breaks."""
    names = (session.staff.username, session.staff.display_name)
    new = await asyncio.to_thread(check_password, new, names)
    if new == old:
        raise Invalid(
            "the new password must differ from the current one", code="password.unchanged"
        )
    now, staff_id = env.clock.now(), session.staff.id
    guard = [Limit(f"change:{staff_id}", env.settings.login_user_failures)]
    async with env.db.write() as conn:
        await count_attempt(conn, env, guard, now)
    if not verify_password(session.staff.password_hash, old):
        async with env.db.write() as conn:
            target = f"staff:{staff_id}"
            await audit.record(conn, actor, "staff.change_password_failed", at=now, target=target)
        raise Invalid("the current password is wrong", code="password.wrong_current")
    async with env.db.write() as conn:
        await hand_back(conn, guard, forget=1)
        row = await accounts.get_staff(conn, staff_id=staff_id)
        if row is None:
            raise NotFound(f"staff {staff_id}")
        changed = replace(
            row, password_hash=hash_password(new), must_change_password=False, updated_at=now
        )
        await accounts.save_staff(conn, changed)
        await accounts.delete_sessions_of(conn, staff_id=staff_id)
        await audit.record(conn, actor, "staff.change_password", at=now, target=f"staff:{staff_id}")


async def list_all(env: Env, actor: Actor) -> list[Staff]:
    """Every account (admins)."""
    _admin(actor)
    async with env.db.read() as conn:
        return [public(r) for r in await accounts.list_staff(conn)]


async def get(env: Env, actor: Actor, staff_id: int) -> Staff:
    """One account (admins)."""
    _admin(actor)
    async with env.db.read() as conn:
        row = await accounts.get_staff(conn, staff_id=staff_id)
    if row is None:
        raise NotFound(f"staff {staff_id}")
    return public(row)
