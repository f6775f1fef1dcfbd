"""Admins' operations on signing keys (list, rotate, retire, the root key's passphrase; audited)
and the revocation list's summary. The keys themselves, on disk and on the manifest, are
server.services.passes.keys; a rotation or retirement signs a new manifest, so it needs the root
key's passphrase when the root key has one (the command line asks for it; the API has none)."""

from __future__ import annotations

import asyncio

from protocol.manifest import KeyUse
from server.records import Key, PhoneKey
from server.services import audit
from server.services.context import Actor, Env
from server.services.errors import Forbidden, NotFound
from server.services.passes import phone_keys
from server.services.passes.keys import (
    KeyPolicy,
    protect_root,
    retire,
    root_row,
    rotate,
    unprotected_root_keys,
)
from server.services.passes.revocations import build_full
from server.services.staff.password_rules import check_password
from server.store import keys as key_store
from server.store import registry

REF_LENGTH = 8


def _admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise Forbidden("admins only")


async def list_keys(env: Env, actor: Actor) -> list[Key]:
    """Every key's public metadata (admins)."""
    _admin(actor)
    async with env.db.read() as conn:
        return await key_store.list_keys(conn)


async def rotate_key(env: Env, actor: Actor, use: str, root_passphrase: str | None = None) -> Key:
    """Announce a new key for ``use``; it signs after the lead time (admins, audited)."""
    _admin(actor)
    now, s = env.clock.now(), env.settings
    policy = KeyPolicy(sign_days=s.key_sign_days, lead_days=s.key_lead_days)
    async with env.db.write() as conn:
        site = await registry.get_site(conn)
        assert site is not None
        row = await rotate(
            conn,
            env.keys_dir,
            use=KeyUse(use),
            site=site.id,
            now=now,
            policy=policy,
            root_passphrase=root_passphrase,
        )
        await audit.record(conn, actor, "key.rotate", at=now, target=f"key:{row.kid}", use=use)
        return row


async def retire_key(env: Env, actor: Actor, kid: str, root_passphrase: str | None = None) -> int:
    """Take a key off the manifest (admins, audited); returns the live passes it kills."""
    _admin(actor)
    now = env.clock.now()
    async with env.db.write() as conn:
        site = await registry.get_site(conn)
        assert site is not None
        killed = await retire(
            conn, env.keys_dir, kid=kid, site=site.id, now=now, root_passphrase=root_passphrase
        )
        await audit.record(conn, actor, "key.retire", at=now, target=f"key:{kid}", passes=killed)
        return killed


async def rotate_phone_keys(env: Env, actor: Actor, zone: int | None) -> dict[int | None, int]:
    """New phone-tag keys after a gate is lost (admins, audited): ``zone``'s and the site's, or
    every zone's and the site's when ``zone`` is None. Returns zone (None: site) -> version."""
    _admin(actor)
    now = env.clock.now()
    async with env.db.write() as conn:
        known = [z.id for z in await registry.list_zones(conn, scope=None)]
        if zone is not None and zone not in known:
            raise NotFound(f"no zone {zone}")
        targets: list[int | None] = [None, *([zone] if zone is not None else known)]
        versions = await phone_keys.rotate(conn, env.keys_dir, zones=targets, now=now)
        detail = {"site" if z is None else f"zone {z}": v for z, v in versions.items()}
        await audit.record(conn, actor, "key.rotate_phone", at=now, versions=detail)
        return versions


async def list_phone_keys(env: Env, actor: Actor) -> list[PhoneKey]:
    """Every phone-tag key version with its zone (admins; never the key itself)."""
    _admin(actor)
    async with env.db.read() as conn:
        return await key_store.list_phone_keys(conn)


def root_key_protected(env: Env) -> bool:
    """Whether every root key file is passphrase-encrypted (False: an older site's plain one)."""
    return not unprotected_root_keys(env.keys_dir)


async def set_root_passphrase(env: Env, actor: Actor, current: str | None, new: str) -> None:
    """Encrypt the root key under ``new`` (the password rule applies; ``current`` unlocks a key
    that has a passphrase already). Admins, audited."""
    _admin(actor)
    now = env.clock.now()
    async with env.db.write() as conn:
        site = await registry.get_site(conn)
        assert site is not None
        new = await asyncio.to_thread(check_password, new, (site.id, site.name))
        row = await root_row(conn)
        await asyncio.to_thread(protect_root, env.keys_dir, row, current, new)
        await audit.record(conn, actor, "key.root_passphrase", at=now, target=f"key:{row.kid}")


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
