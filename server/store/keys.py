"""SQL for key metadata, phone-tag key versions and signed manifests (private keys are files)."""

from __future__ import annotations

import sqlalchemy as sa

from server.records import Key, Manifest, PhoneKey
from server.store.db import Connection
from server.store.query import record, records, values_of
from server.store.schema import keys, manifests, phone_keys


async def insert_key(conn: Connection, key: Key) -> None:
    """Record a key's metadata and the file that holds its private half."""
    await conn.execute(sa.insert(keys).values(values_of(key, keys)))


async def list_keys(conn: Connection, *, include_retired: bool = True) -> list[Key]:
    """Every key, oldest first."""
    query = sa.select(keys).order_by(keys.c.created_at, keys.c.kid)
    if not include_retired:
        query = query.where(keys.c.retired_at.is_(None))
    return records(Key, await conn.execute(query))


async def get_key(conn: Connection, *, kid: str) -> Key | None:
    """One key by hex kid."""
    row = (await conn.execute(sa.select(keys).where(keys.c.kid == kid))).first()
    return record(Key, row)


async def save_key(conn: Connection, key: Key) -> None:
    """Write a key's changed windows or its retirement."""
    values = values_of(key, keys, without=("kid",))
    await conn.execute(sa.update(keys).where(keys.c.kid == key.kid).values(values))


async def insert_phone_key(
    conn: Connection, *, version: int, file: str, now: int, zone: int | None = None
) -> None:
    """Record a phone-tag key version (``zone`` None: the site key)."""
    values = {"version": version, "file": file, "created_at": now, "zone_id": zone}
    await conn.execute(sa.insert(phone_keys).values(values))


async def list_phone_keys(conn: Connection) -> list[PhoneKey]:
    """Phone-tag key versions, oldest first."""
    query = sa.select(phone_keys).order_by(phone_keys.c.version)
    return records(PhoneKey, await conn.execute(query))


async def insert_manifest(conn: Connection, *, seq: int, issued_at: int, signed: bytes) -> None:
    """Keep a signed manifest (issue 6 publishes the newest, retained)."""
    await conn.execute(sa.insert(manifests).values(seq=seq, issued_at=issued_at, signed=signed))


async def latest_manifest(conn: Connection) -> Manifest | None:
    """The newest signed manifest."""
    query = sa.select(manifests).order_by(manifests.c.seq.desc()).limit(1)
    row = (await conn.execute(query)).first()
    return record(Manifest, row)
