"""SQL of what each gate last reported (its retained status) and the config versions it was
sent (version, fingerprint, policy overrides)."""

from __future__ import annotations

import sqlalchemy as sa

from server.records import ConfigVersion, LaneStatus
from server.store.db import Connection
from server.store.query import record, records, values_of
from server.store.schema_gates import (
    gate_configs,
    gate_status,
)


async def get_status(conn: Connection, *, gate: str) -> LaneStatus | None:
    """The gate's last status as stored."""
    query = sa.select(gate_status).where(gate_status.c.gate == gate)
    return record(LaneStatus, (await conn.execute(query)).first())


async def all_status(conn: Connection) -> dict[str, LaneStatus]:
    """Every gate's last status, by gate."""
    return {r.gate: r for r in records(LaneStatus, await conn.execute(sa.select(gate_status)))}


async def put_status(conn: Connection, *, status: LaneStatus) -> None:
    """Insert or replace the gate's status row."""
    gate, values = status.gate, values_of(status, gate_status)
    if await get_status(conn, gate=gate) is None:
        await conn.execute(sa.insert(gate_status).values(**values))
    else:
        await conn.execute(
            sa.update(gate_status).where(gate_status.c.gate == gate).values(**values)
        )


async def get_config(conn: Connection, *, gate: str) -> ConfigVersion | None:
    """The gate's config bookkeeping (version, fingerprint, policy overrides)."""
    query = sa.select(gate_configs).where(gate_configs.c.gate == gate)
    return record(ConfigVersion, (await conn.execute(query)).first())


async def all_configs(conn: Connection) -> dict[str, ConfigVersion]:
    """Every gate's config bookkeeping, by gate."""
    return {
        r.gate: ConfigVersion(**r._mapping) for r in await conn.execute(sa.select(gate_configs))
    }


async def put_config(conn: Connection, config: ConfigVersion) -> None:
    """Insert or replace a gate's config bookkeeping."""
    values = values_of(config, gate_configs)
    if await get_config(conn, gate=config.gate) is None:
        await conn.execute(sa.insert(gate_configs).values(values))
    else:
        where = gate_configs.c.gate == config.gate
        await conn.execute(sa.update(gate_configs).where(where).values(values))
