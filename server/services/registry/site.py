"""The site: creating it (``gatepass-server init``: schema, keys, first manifest, first admin),
its id, and the schema revision the database is at."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from protocol.manifest import KeyManifest
from protocol.topics import validate_id
from server.services import audit
from server.services.context import CLI_ACTOR, Env
from server.services.errors import Conflict, Invalid
from server.services.passes import phone_keys
from server.services.passes.keys import KeyPolicy, create_site_keys
from server.services.staff.password_rules import check_password
from server.services.staff.passwords import hash_password, one_time_password
from server.services.text import clean_text
from server.store import accounts, registry
from server.store.migrate import current_revision, upgrade

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class InitResult:
    """What ``init`` made: the site, the first manifest and the admin's one-time password."""

    site: str
    manifest: KeyManifest
    admin: str
    password: str


def refuse_existing(data_dir: Path) -> None:
    """Never overwrite a site: an existing database or key directory stops ``init``."""
    for name in ("registry.db", "keys"):
        if (data_dir / name).exists():
            raise Conflict(f"{data_dir / name} exists: this directory already holds a site")


async def initialise(
    env: Env,
    *,
    site: str,
    name: str,
    zones: list[str],
    admin: str,
    root_passphrase: str | None,
) -> InitResult:
    """Create schema, site, zones, keys, manifest seq 1 and an admin with a one-time password.

    The root key is encrypted under ``root_passphrase`` (which must meet the password rule);
    None writes it unencrypted, as versions before passphrases did (tests, benchmarks)."""
    try:
        validate_id(site, "site")
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    name = clean_text(name, field="name", max_length=64)
    if root_passphrase is not None:
        root_passphrase = check_password(root_passphrase, (site, name))
    now, password = env.clock.now(), one_time_password()
    await upgrade(env.db)
    policy = KeyPolicy(sign_days=env.settings.key_sign_days, lead_days=env.settings.key_lead_days)
    async with env.db.write() as conn:
        if await registry.get_site(conn) is not None:
            raise Conflict("the database already holds a site")
        await registry.insert_site(conn, site_id=site, name=name, now=now)
        for number, zone in enumerate(zones, start=1):
            zone_name = clean_text(zone, field="zone", max_length=64)
            await registry.insert_zone(conn, zone_id=number, site_id=site, name=zone_name, now=now)
        manifest = await create_site_keys(
            conn,
            env.keys_dir,
            site=site,
            now=now,
            policy=policy,
            root_passphrase=root_passphrase,
        )
        zone_ids: list[int | None] = list(range(1, len(zones) + 1))
        await phone_keys.rotate(conn, env.keys_dir, zones=zone_ids, now=now)
        account = await accounts.insert_staff(
            conn,
            username=admin,
            display_name=admin,
            password_hash=hash_password(password),
            role="admin",
            zone_scope=None,
            now=now,
        )
        await audit.record(
            conn, CLI_ACTOR, "site.init", at=now, target=f"site:{site}", admin=account.id
        )
    logger.info("initialised site %s with %d zones", site, len(zones))
    return InitResult(site=site, manifest=manifest, admin=admin, password=password)


async def site_id(env: Env) -> str:
    """The id of the site this server runs; Conflict before ``init``."""
    async with env.db.read() as conn:
        site = await registry.get_site(conn)
    if site is None:
        raise Conflict("the database holds no site: run gatepass-server init")
    return str(site.id)


async def schema_revision(env: Env) -> str | None:
    """The schema revision stored in the database (None for an empty database)."""
    return await current_revision(env.db)
