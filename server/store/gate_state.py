"""SQL of what each gate last reported (its retained status) and the config versions it was
sent (version, fingerprint, policy overrides)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from server.store.db import Connection
from server.store.schema_gates import (
    gate_configs,
    gate_status,
)


def _one(row: Any) -> dict[str, Any] | None:
    return None if row is None else dict(row._mapping)


async def get_status(conn: Connection, *, gate: str) -> dict[str, Any] | None:
    """The gate's last status as stored."""
    return _one(
        (await conn.execute(sa.select(gate_status).where(gate_status.c.gate == gate))).first()
    )


async def all_status(conn: Connection) -> dict[str, dict[str, Any]]:
    """Every gate's last status, by gate."""
    return {r.gate: dict(r._mapping) for r in await conn.execute(sa.select(gate_status))}


async def put_status(conn: Connection, *, values: dict[str, Any]) -> None:
    """Insert or replace the gate's status row."""
    gate = values["gate"]
    if await get_status(conn, gate=gate) is None:
        await conn.execute(sa.insert(gate_status).values(**values))
    else:
        await conn.execute(
            sa.update(gate_status).where(gate_status.c.gate == gate).values(**values)
        )


async def get_config(conn: Connection, *, gate: str) -> dict[str, Any] | None:
    """The gate's config bookkeeping (version, fingerprint, policy overrides)."""
    query = sa.select(gate_configs).where(gate_configs.c.gate == gate)
    return _one((await conn.execute(query)).first())


async def all_configs(conn: Connection) -> dict[str, dict[str, Any]]:
    """Every gate's config bookkeeping, by gate."""
    return {r.gate: dict(r._mapping) for r in await conn.execute(sa.select(gate_configs))}


async def put_config(conn: Connection, *, values: dict[str, Any]) -> None:
    """Insert or replace a gate's config bookkeeping."""
    gate = values["gate"]
    if await get_config(conn, gate=gate) is None:
        await conn.execute(sa.insert(gate_configs).values(**values))
    else:
        query = sa.update(gate_configs).where(gate_configs.c.gate == gate).values(**values)
        await conn.execute(query)
