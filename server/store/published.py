"""SQL of the last signed messages published to the gates (manifest, revocation list), so
deltas are computed against them after a restart."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from server.store.db import Connection
from server.store.schema_gates import (
    link_published,
)


def _one(row: Any) -> dict[str, Any] | None:
    return None if row is None else dict(row._mapping)


async def get_published(conn: Connection, *, name: str) -> dict[str, Any] | None:
    """The last signed message published under ``name`` (manifest, revocations)."""
    query = sa.select(link_published).where(link_published.c.name == name)
    return _one((await conn.execute(query)).first())


async def put_published(conn: Connection, *, values: dict[str, Any]) -> None:
    """Remember what was just published (deltas are computed against it after a restart)."""
    name = values["name"]
    if await get_published(conn, name=name) is None:
        await conn.execute(sa.insert(link_published).values(**values))
    else:
        query = sa.update(link_published).where(link_published.c.name == name).values(**values)
        await conn.execute(query)
