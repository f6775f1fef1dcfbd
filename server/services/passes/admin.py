"""Reading passes, and the admin operations on keys and the revocation list summary."""

from __future__ import annotations

from typing import Any

from protocol.manifest import KeyUse
from server.services import audit
from server.services.context import Actor, Env
from server.services.errors import Forbidden, NotFound
from server.services.passes.keys import KeyPolicy, retire, rotate
from server.services.passes.revocations import build_full
from server.store import audit as audit_store
from server.store import keys as key_store
from server.store import passes as pass_store
from server.store import registry
from server.store.query import Page

REF_LENGTH = 8


def _admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise Forbidden("admins only")


async def search(
    env: Env, actor: Actor, page: Page, filters: dict[str, Any], *, active_only: bool
) -> tuple[list[dict[str, Any]], int]:
    """Passes in scope matching the filters (holder or household ids, kind)."""
    async with env.db.read() as conn:
        active_at = env.clock.now() if active_only else None
        return await pass_store.search_passes(
            conn, scope=actor.scope, page=page, filters=filters, active_at=active_at
        )


async def get(env: Env, actor: Actor, pass_row: int) -> dict[str, Any]:
    """One pass in scope."""
    async with env.db.read() as conn:
        row = await pass_store.get_pass(conn, pass_row=pass_row, scope=actor.scope)
    if row is None:
        raise NotFound(f"pass {pass_row}")
    return row


async def list_keys(env: Env, actor: Actor) -> list[dict[str, Any]]:
    """Every key's public metadata (admins)."""
    _admin(actor)
    async with env.db.read() as conn:
        return await key_store.list_keys(conn)


async def rotate_key(env: Env, actor: Actor, use: str) -> dict[str, Any]:
    """Announce a new key for ``use``; it signs after the lead time (admins, audited)."""
    _admin(actor)
    now, s = env.clock.now(), env.settings
    policy = KeyPolicy(sign_days=s.key_sign_days, lead_days=s.key_lead_days)
    async with env.db.write() as conn:
        site = await registry.get_site(conn)
        assert site is not None
        row = await rotate(
            conn, env.keys_dir, use=KeyUse(use), site=site["id"], now=now, policy=policy
        )
        await audit.record(conn, actor, "key.rotate", at=now, target=f"key:{row['kid']}", use=use)
        return {**row, "retired_at": None}


async def retire_key(env: Env, actor: Actor, kid: str) -> int:
    """Take a key off the manifest (admins, audited); returns the live passes it kills."""
    _admin(actor)
    now = env.clock.now()
    async with env.db.write() as conn:
        site = await registry.get_site(conn)
        assert site is not None
        killed = await retire(conn, env.keys_dir, kid=kid, site=site["id"], now=now)
        await audit.record(conn, actor, "key.retire", at=now, target=f"key:{kid}", passes=killed)
        return killed


async def revocation_summary(env: Env, actor: Actor) -> dict[str, int]:
    """Sizes of the current revocation list."""
    _admin(actor)
    async with env.db.read() as conn:
        full = await build_full(
            conn, now=env.clock.now(), next_update_s=env.settings.revocation_next_update_s
        )
    return {
        "seq": full.seq,
        "issued_at": full.issued_at,
        "revoked_refs": len(full.refs) // REF_LENGTH,
        "cutoffs": len(full.cutoffs),
        "pass_holds": len(full.pass_holds),
        "household_holds": len(full.household_holds),
    }


async def audit_log(
    env: Env,
    actor: Actor,
    page: Page,
    *,
    action: str | None = None,
    by: str | None = None,
    since: int | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """Audit entries (admins), filtered by action, acting user and time."""
    _admin(actor)
    async with env.db.read() as conn:
        return await audit_store.search(conn, page=page, action=action, actor=by, since=since)
