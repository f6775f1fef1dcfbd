"""SQL of the site's settings kept in the database (JSON values by key)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from server.store.db import Connection
from server.store.schema import site_settings


async def get_setting(conn: Connection, *, key: str) -> Any:
    """A site setting kept in the database (None if unset)."""
    query = sa.select(site_settings.c.value).where(site_settings.c.key == key)
    return await conn.scalar(query)


async def put_setting(conn: Connection, *, key: str, value: Any) -> None:
    """Set a site setting (JSON value)."""
    if await get_setting(conn, key=key) is None:
        await conn.execute(sa.insert(site_settings).values(key=key, value=value))
    else:
        query = sa.update(site_settings).where(site_settings.c.key == key).values(value=value)
        await conn.execute(query)
