"""Signing keys on disk, their metadata in the store, and the root-signed key manifest.

Private halves live in ``<data>/keys`` (directory 0700, files 0600, created with O_EXCL so
nothing is ever overwritten); the database holds kid, use, public key and windows. Rotation puts a
new key on the manifest ``key_lead_days`` before it signs anything, and shortens the old key's
signing window to meet it; every key stays verifiable until the last pass it could have signed
expires (``sign_until`` + the longest pass lifetime). Retiring a key removes it from the next
manifest, which kills every pass it signed at each gate as soon as that gate syncs.

The root key signs only manifests, so only ``init`` and the ``keys`` commands need it: its file
is encrypted PKCS#8 under a passphrase the operator types (or hands over on a file descriptor),
and the running server never has the passphrase. A rotation or retirement through the API on
such a site is refused (``keys.root_locked``): it is done on the command line. A root key
written unencrypted by an older version still works; ``keys passphrase`` encrypts it, and
``check-config`` and ``keys list`` say so until then.
"""

from __future__ import annotations

import logging
import os
import secrets
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from msgspec.structs import replace

from protocol.cose import PrivateKey
from protocol.keys import (
    generate_ed25519,
    is_encrypted_pem,
    kid_for,
    load_pem_private,
    private_pem,
    raw_public,
)
from protocol.manifest import KeyEntry, KeyManifest, KeyUse, sign_manifest
from server.records import Key
from server.services.errors import Conflict
from server.store import keys as key_store
from server.store import passes as pass_store
from server.store.db import Connection

logger = logging.getLogger(__name__)

ROOT = "root"
SIGNING_USES = (KeyUse.PASS, KeyUse.REVLIST, KeyUse.CONTROL)
MAX_PASS_LIFETIME_S = 366 * 86400
_DAY = 86400


class KeyProblem(Conflict):
    """A key operation cannot be done (no current key, unknown kid, file problem)."""


@dataclass(frozen=True, slots=True)
class KeyPolicy:
    """How long keys sign and how early new keys are announced."""

    sign_days: int
    lead_days: int


def write_secret(path: Path, data: bytes) -> None:
    """Create a 0600 file; refuse to overwrite anything."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def passphrase_bytes(passphrase: str) -> bytes:
    """The bytes a passphrase encrypts with: NFC, UTF-8 (the same typed text, the same key)."""
    return unicodedata.normalize("NFC", passphrase).encode()


def load_private(keys_dir: Path, row: Key) -> PrivateKey:
    """Load a signing key's private half from its file (never encrypted: the server signs)."""
    return load_pem_private((keys_dir / row.file).read_bytes())


def load_root(keys_dir: Path, row: Key, passphrase: str | None) -> PrivateKey:
    """The root key, decrypted with ``passphrase``; KeyProblem says what is missing or wrong."""
    data = (keys_dir / row.file).read_bytes()
    if not is_encrypted_pem(data):
        return load_pem_private(data)
    if passphrase is None:
        raise KeyProblem(
            "the root key is protected by a passphrase: change the key manifest with "
            "gatepass-server keys ... on the server, which asks for it",
            code="keys.root_locked",
        )
    try:
        return load_pem_private(data, passphrase_bytes(passphrase))
    except ValueError:
        raise KeyProblem(
            "wrong passphrase for the root key", code="keys.wrong_passphrase"
        ) from None


def unprotected_root_keys(keys_dir: Path) -> list[Path]:
    """Root key files written without a passphrase (by a version before passphrases)."""
    return sorted(
        path for path in keys_dir.glob(f"{ROOT}-*.pem") if not is_encrypted_pem(path.read_bytes())
    )


def protect_root(keys_dir: Path, row: Key, current: str | None, new: str) -> None:
    """Encrypt the root key's file under ``new`` (replacing it atomically, still 0600)."""
    key = load_root(keys_dir, row, current)
    path = keys_dir / row.file
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(private_pem(key, passphrase_bytes(new)))
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


async def add_key(
    conn: Connection,
    keys_dir: Path,
    *,
    use: str,
    sign_from: int,
    sign_until: int,
    now: int,
    passphrase: str | None = None,
) -> Key:
    """Generate a key, write it 0600 (encrypted under ``passphrase`` if given) and record it."""
    key = generate_ed25519()
    kid = kid_for(key).hex()
    file = f"{use}-{kid}.pem"
    write_secret(
        keys_dir / file,
        private_pem(key, None if passphrase is None else passphrase_bytes(passphrase)),
    )
    row = Key(
        kid=kid,
        use=use,
        public_raw=raw_public(key),
        file=file,
        sign_from=sign_from,
        sign_until=sign_until,
        verify_until=sign_until if use == ROOT else sign_until + MAX_PASS_LIFETIME_S,
        created_at=now,
        retired_at=None,
    )
    await key_store.insert_key(conn, row)
    logger.info("created %s key %s", use, kid)
    return row


async def add_phone_key(
    conn: Connection, keys_dir: Path, *, now: int, zone: int | None = None
) -> int:
    """A new phone-tag key version (32 random bytes, file 0600) for ``zone`` (None: the site's,
    server.services.passes.phone_keys); returns the version."""
    versions = [r.version for r in await key_store.list_phone_keys(conn)]
    version = max(versions, default=0) + 1
    file = f"phone-v{version}.key"
    write_secret(keys_dir / file, secrets.token_bytes(32).hex().encode())
    await key_store.insert_phone_key(conn, version=version, file=file, now=now, zone=zone)
    return version


async def create_site_keys(
    conn: Connection,
    keys_dir: Path,
    *,
    site: str,
    now: int,
    policy: KeyPolicy,
    root_passphrase: str | None,
) -> KeyManifest:
    """Root (encrypted under ``root_passphrase``), pass, revlist and control keys, phone key v1
    and manifest seq 1 (``init``)."""
    await add_key(
        conn,
        keys_dir,
        use=ROOT,
        sign_from=now,
        sign_until=now + 100 * 366 * _DAY,
        now=now,
        passphrase=root_passphrase,
    )
    for use in SIGNING_USES:
        until = now + policy.sign_days * _DAY
        await add_key(conn, keys_dir, use=use.value, sign_from=now, sign_until=until, now=now)
    await add_phone_key(conn, keys_dir, now=now)
    return await publish_manifest(
        conn, keys_dir, site=site, now=now, root_passphrase=root_passphrase
    )


def build_manifest(site: str, seq: int, now: int, rows: list[Key]) -> KeyManifest:
    """The manifest listing every unretired signing key (the root key is pinned, not listed)."""
    entries = [
        KeyEntry(
            kid=bytes.fromhex(r.kid),
            alg=-19,
            pub=r.public_raw,
            use=KeyUse(r.use),
            sign_from=r.sign_from,
            sign_until=r.sign_until,
            verify_until=r.verify_until,
        )
        for r in rows
        if r.use != ROOT and r.retired_at is None
    ]
    return KeyManifest(schema=1, site=site, seq=seq, issued_at=now, keys=entries)


async def root_row(conn: Connection) -> Key:
    """The site's root key's row."""
    rows = await key_store.list_keys(conn)
    root = next((r for r in rows if r.use == ROOT and r.retired_at is None), None)
    if root is None:
        raise KeyProblem("no root key")
    return root


async def publish_manifest(
    conn: Connection, keys_dir: Path, *, site: str, now: int, root_passphrase: str | None
) -> KeyManifest:
    """Sign the next manifest with the root key and keep it for the MQTT link to publish."""
    root_key = load_root(keys_dir, await root_row(conn), root_passphrase)
    rows = await key_store.list_keys(conn)
    latest = await key_store.latest_manifest(conn)
    seq = 1 if latest is None else latest.seq + 1
    manifest = build_manifest(site, seq, now, rows)
    signed = sign_manifest(manifest, root_key)
    await key_store.insert_manifest(conn, seq=seq, issued_at=now, signed=signed)
    return manifest


async def signing_key(
    conn: Connection, keys_dir: Path, *, use: KeyUse, now: int
) -> tuple[Key, PrivateKey]:
    """The key that signs ``use`` now: in its window, unretired, the most recently started."""
    rows = [
        r
        for r in await key_store.list_keys(conn, include_retired=False)
        if r.use == use.value and r.sign_from <= now <= r.sign_until
    ]
    if not rows:
        raise KeyProblem(f"no {use.value} key may sign at {now}: rotate keys")
    row = max(rows, key=lambda r: (r.sign_from, r.created_at))
    return row, load_private(keys_dir, row)


async def rotate(
    conn: Connection,
    keys_dir: Path,
    *,
    use: KeyUse,
    site: str,
    now: int,
    policy: KeyPolicy,
    root_passphrase: str | None,
) -> Key:
    """Announce a new key now that starts signing after the lead time; returns its row."""
    load_root(keys_dir, await root_row(conn), root_passphrase)  # refuse before writing a key
    start = now + policy.lead_days * _DAY
    new = await add_key(
        conn,
        keys_dir,
        use=use.value,
        sign_from=start,
        sign_until=start + policy.sign_days * _DAY,
        now=now,
    )
    for row in await key_store.list_keys(conn, include_retired=False):
        if row.use == use.value and row.kid != new.kid and row.sign_until >= start:
            until = max(row.sign_from, start - 1)
            shortened = replace(row, sign_until=until, verify_until=until + MAX_PASS_LIFETIME_S)
            await key_store.save_key(conn, shortened)
    await publish_manifest(conn, keys_dir, site=site, now=now, root_passphrase=root_passphrase)
    return new


async def retire(
    conn: Connection,
    keys_dir: Path,
    *,
    kid: str,
    site: str,
    now: int,
    root_passphrase: str | None,
) -> int:
    """Take a key off the manifest (compromise); returns how many live passes it kills."""
    row = await key_store.get_key(conn, kid=kid)
    if row is None or row.use == ROOT:
        raise KeyProblem(f"no retirable key {kid}")
    if row.retired_at is not None:
        raise KeyProblem(f"key {kid} is already retired")
    await key_store.save_key(conn, replace(row, retired_at=now))
    await publish_manifest(conn, keys_dir, site=site, now=now, root_passphrase=root_passphrase)
    return await pass_store.count_by_kid(conn, kid=kid, now=now)
