"""SQL of each zone's policy overrides (the lanes' own stay in ``gate_configs``)."""

from __future__ import annotations

import sqlalchemy as sa

from server.records import ZonePolicy
from server.store.db import Connection
from server.store.query import record, records, values_of
from server.store.schema_gates import zone_policies


async def get(conn: Connection, *, zone_id: int) -> ZonePolicy | None:
    """The zone's overrides as stored, if it has any."""
    query = sa.select(zone_policies).where(zone_policies.c.zone_id == zone_id)
    return record(ZonePolicy, (await conn.execute(query)).first())


async def all_zones(conn: Connection) -> dict[int, ZonePolicy]:
    """Every zone's overrides, by zone."""
    return {r.zone_id: r for r in records(ZonePolicy, await conn.execute(sa.select(zone_policies)))}


async def put(conn: Connection, row: ZonePolicy) -> None:
    """Insert or replace the zone's overrides."""
    values = values_of(row, zone_policies)
    if await get(conn, zone_id=row.zone_id) is None:
        await conn.execute(sa.insert(zone_policies).values(values))
    else:
        where = zone_policies.c.zone_id == row.zone_id
        await conn.execute(sa.update(zone_policies).where(where).values(values))
