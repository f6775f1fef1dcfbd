"""SQL of the last signed messages published to the gates (manifest, revocation list), so
deltas are computed against them after a restart."""

from __future__ import annotations

import sqlalchemy as sa

from server.records import Published
from server.store.db import Connection
from server.store.query import record, values_of
from server.store.schema_gates import (
    link_published,
)


async def get_published(conn: Connection, *, name: str) -> Published | None:
    """The last signed message published under ``name`` (manifest, revocations)."""
    query = sa.select(link_published).where(link_published.c.name == name)
    return record(Published, (await conn.execute(query)).first())


async def put_published(conn: Connection, published: Published) -> None:
    """Remember what was just published (deltas are computed against it after a restart)."""
    values = values_of(published, link_published)
    if await get_published(conn, name=published.name) is None:
        await conn.execute(sa.insert(link_published).values(values))
    else:
        where = link_published.c.name == published.name
        await conn.execute(sa.update(link_published).where(where).values(values))
