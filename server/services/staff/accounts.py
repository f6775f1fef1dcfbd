"""Staff accounts: admins create them with a one-time password and set role and zone scope."""

from __future__ import annotations

import re
from typing import Any

from server.services import audit
from server.services.context import Actor, Env
from server.services.errors import Conflict, Forbidden, Invalid, NotFound
from server.services.staff.auth import Session
from server.services.staff.passwords import (
    check_rules,
    hash_password,
    one_time_password,
    verify_password,
)
from server.services.text import clean_name
from server.store import accounts, registry

ROLES = ("admin", "staff")
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,31}$")


def _admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise Forbidden("admins only")


def public(row: dict[str, Any]) -> dict[str, Any]:
    """An account without its password hash."""
    return {k: v for k, v in row.items() if k != "password_hash"}


async def _check_scope(conn: Any, scope: list[int] | None) -> list[int] | None:
    if scope is None:
        return None
    known = {z["id"] for z in await registry.list_zones(conn, scope=None)}
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
) -> tuple[dict[str, Any], str]:
    """Add an account; returns it and its one-time password (shown once)."""
    _admin(actor)
    if not _USERNAME.fullmatch(username):
        raise Invalid("user names are 2-32 of a-z 0-9 . _ -, starting with a letter or digit")
    if role not in ROLES:
        raise Invalid(f"role must be one of {', '.join(ROLES)}")
    password, now = one_time_password(), env.clock.now()
    async with env.db.write() as conn:
        if await accounts.find_staff(conn, username=username) is not None:
            raise Conflict(f"user {username} exists")
        values = {
            "username": username, "display_name": clean_name(display_name, "display_name"),
            "password_hash": hash_password(password), "role": role,
            "zone_scope": await _check_scope(conn, zone_scope), "active": True,
            "must_change_password": True, "generation": 0, "created_at": now, "updated_at": now,
        }  # fmt: skip
        staff_id = await accounts.insert_staff(conn, values=values)
        await audit.record(
            conn, actor, "staff.create", at=now, target=f"staff:{staff_id}", role=role
        )
        row = await accounts.get_staff(conn, staff_id=staff_id)
    assert row is not None
    return public(row), password


async def update(env: Env, actor: Actor, staff_id: int, values: dict[str, Any]) -> dict[str, Any]:
    """Change role, scope, name or active flag; ends the account's sessions."""
    _admin(actor)
    now = env.clock.now()
    async with env.db.write() as conn:
        row = await accounts.get_staff(conn, staff_id=staff_id)
        if row is None:
            raise NotFound(f"staff {staff_id}")
        if "role" in values and values["role"] not in ROLES:
            raise Invalid(f"role must be one of {', '.join(ROLES)}")
        if "zone_scope" in values:
            values["zone_scope"] = await _check_scope(conn, values["zone_scope"])
        if "display_name" in values:
            values["display_name"] = clean_name(values["display_name"], "display_name")
        demoted = values.get("role", "admin") != "admin" or values.get("active") is False
        if row["role"] == "admin" and demoted and await accounts.count_admins(conn) <= 1:
            raise Conflict("the last admin cannot be demoted or deactivated")
        values |= {"updated_at": now, "generation": row["generation"] + 1}
        await accounts.update_staff(conn, staff_id=staff_id, values=values)
        await accounts.delete_sessions_of(conn, staff_id=staff_id)
        await audit.record(
            conn, actor, "staff.update", at=now, target=f"staff:{staff_id}", fields=sorted(values)
        )
        row = await accounts.get_staff(conn, staff_id=staff_id)
    assert row is not None
    return public(row)


async def reset_password(env: Env, actor: Actor, staff_id: int) -> str:
    """A new one-time password for an account (admins); ends its sessions."""
    _admin(actor)
    password, now = one_time_password(), env.clock.now()
    async with env.db.write() as conn:
        row = await accounts.get_staff(conn, staff_id=staff_id)
        if row is None:
            raise NotFound(f"staff {staff_id}")
        values = {
            "password_hash": hash_password(password),
            "must_change_password": True,
            "generation": row["generation"] + 1,
        }
        await accounts.update_staff(conn, staff_id=staff_id, values=values)
        await accounts.delete_sessions_of(conn, staff_id=staff_id)
        await audit.record(conn, actor, "staff.reset_password", at=now, target=f"staff:{staff_id}")
    return password


async def change_password(env: Env, session: Session, actor: Actor, old: str, new: str) -> None:
    """Change one's own password; every session of the account ends (log in again)."""
    new = check_rules(new)
    if not verify_password(session.staff["password_hash"], old):
        raise Invalid("the current password is wrong")
    now = env.clock.now()
    async with env.db.write() as conn:
        staff_id = session.staff["id"]
        values = {
            "password_hash": hash_password(new),
            "must_change_password": False,
            "updated_at": now,
        }
        await accounts.update_staff(conn, staff_id=staff_id, values=values)
        await accounts.delete_sessions_of(conn, staff_id=staff_id)
        await audit.record(conn, actor, "staff.change_password", at=now, target=f"staff:{staff_id}")


async def list_all(env: Env, actor: Actor) -> list[dict[str, Any]]:
    """Every account (admins)."""
    _admin(actor)
    async with env.db.read() as conn:
        return [public(r) for r in await accounts.list_staff(conn)]


async def get(env: Env, actor: Actor, staff_id: int) -> dict[str, Any]:
    """One account (admins)."""
    _admin(actor)
    async with env.db.read() as conn:
        row = await accounts.get_staff(conn, staff_id=staff_id)
    if row is None:
        raise NotFound(f"staff {staff_id}")
    return public(row)
