"""SQL of the link's bookkeeping: gate status, config versions, broker accounts, commands and
the last signed messages published."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from server.store.query import Page, fetch_page
from server.store.schema import site_settings
from server.store.schema_gates import (
    broker_accounts,
    commands,
    gate_configs,
    gate_status,
    link_published,
)

# request ids are time-ordered (gate_commands.request_id), so they break ties within a second
COMMAND_SORT = {"id": commands.c.request_id, "issued_at": commands.c.issued_at}


def _one(row: Any) -> dict[str, Any] | None:
    return None if row is None else dict(row._mapping)


async def get_status(conn: AsyncConnection, *, gate: str) -> dict[str, Any] | None:
    """The gate's last status as stored."""
    return _one(
        (await conn.execute(sa.select(gate_status).where(gate_status.c.gate == gate))).first()
    )


async def all_status(conn: AsyncConnection) -> dict[str, dict[str, Any]]:
    """Every gate's last status, by gate."""
    return {r.gate: dict(r._mapping) for r in await conn.execute(sa.select(gate_status))}


async def put_status(conn: AsyncConnection, *, values: dict[str, Any]) -> None:
    """Insert or replace the gate's status row."""
    gate = values["gate"]
    if await get_status(conn, gate=gate) is None:
        await conn.execute(sa.insert(gate_status).values(**values))
    else:
        await conn.execute(
            sa.update(gate_status).where(gate_status.c.gate == gate).values(**values)
        )


async def get_config(conn: AsyncConnection, *, gate: str) -> dict[str, Any] | None:
    """The gate's config bookkeeping (version, fingerprint, policy overrides)."""
    query = sa.select(gate_configs).where(gate_configs.c.gate == gate)
    return _one((await conn.execute(query)).first())


async def all_configs(conn: AsyncConnection) -> dict[str, dict[str, Any]]:
    """Every gate's config bookkeeping, by gate."""
    return {r.gate: dict(r._mapping) for r in await conn.execute(sa.select(gate_configs))}


async def put_config(conn: AsyncConnection, *, values: dict[str, Any]) -> None:
    """Insert or replace a gate's config bookkeeping."""
    gate = values["gate"]
    if await get_config(conn, gate=gate) is None:
        await conn.execute(sa.insert(gate_configs).values(**values))
    else:
        query = sa.update(gate_configs).where(gate_configs.c.gate == gate).values(**values)
        await conn.execute(query)


async def delete_account(conn: AsyncConnection, *, username: str) -> int:
    """Drop a broker account (a removed gate); its config row stays so versions keep rising."""
    query = sa.delete(broker_accounts).where(broker_accounts.c.username == username)
    return (await conn.execute(query)).rowcount


async def get_account(conn: AsyncConnection, *, username: str) -> dict[str, Any] | None:
    """One broker account."""
    query = sa.select(broker_accounts).where(broker_accounts.c.username == username)
    return _one((await conn.execute(query)).first())


async def list_accounts(conn: AsyncConnection) -> list[dict[str, Any]]:
    """Every broker account, server first, then gates by name."""
    query = sa.select(broker_accounts).order_by(
        broker_accounts.c.role.desc(), broker_accounts.c.username
    )
    return [dict(r._mapping) for r in await conn.execute(query)]


async def put_account(
    conn: AsyncConnection, *, username: str, role: str, hash_line: str, now: int
) -> None:
    """Create or re-key a broker account (only the mosquitto_passwd hash is stored)."""
    if await get_account(conn, username=username) is None:
        await conn.execute(
            sa.insert(broker_accounts).values(
                username=username, role=role, hash_line=hash_line, created_at=now, updated_at=now
            )
        )
    else:
        query = (
            sa.update(broker_accounts)
            .where(broker_accounts.c.username == username)
            .values(hash_line=hash_line, updated_at=now)
        )
        await conn.execute(query)


async def insert_command(conn: AsyncConnection, *, values: dict[str, Any]) -> None:
    """Record a command as it was signed."""
    await conn.execute(sa.insert(commands).values(**values))


async def mark_sent(conn: AsyncConnection, *, request_id: str) -> None:
    """The broker accepted the command for delivery."""
    query = sa.update(commands).where(commands.c.request_id == request_id).values(sent=True)
    await conn.execute(query)


async def get_command(conn: AsyncConnection, *, request_id: str) -> dict[str, Any] | None:
    """One command by request id."""
    query = sa.select(commands).where(commands.c.request_id == request_id)
    return _one((await conn.execute(query)).first())


async def record_result(conn: AsyncConnection, *, request_id: str, values: dict[str, Any]) -> int:
    """Store a gate's answer to a command; returns rows changed (0: unknown request)."""
    query = (
        sa.update(commands)
        .where(commands.c.request_id == request_id, commands.c.outcome.is_(None))
        .values(**values)
    )
    return (await conn.execute(query)).rowcount


async def search_commands(
    conn: AsyncConnection, *, gates: list[str] | None, page: Page
) -> tuple[list[dict[str, Any]], int]:
    """Commands, newest first, optionally only of ``gates``."""
    query = sa.select(commands)
    if gates is not None:
        query = query.where(commands.c.gate.in_(gates))
    return await fetch_page(conn, query, page, COMMAND_SORT)


async def get_published(conn: AsyncConnection, *, name: str) -> dict[str, Any] | None:
    """The last signed message published under ``name`` (manifest, revocations)."""
    query = sa.select(link_published).where(link_published.c.name == name)
    return _one((await conn.execute(query)).first())


async def put_published(conn: AsyncConnection, *, values: dict[str, Any]) -> None:
    """Remember what was just published (deltas are computed against it after a restart)."""
    name = values["name"]
    if await get_published(conn, name=name) is None:
        await conn.execute(sa.insert(link_published).values(**values))
    else:
        query = sa.update(link_published).where(link_published.c.name == name).values(**values)
        await conn.execute(query)


async def get_setting(conn: AsyncConnection, *, key: str) -> Any:
    """A site setting kept in the database (None if unset)."""
    query = sa.select(site_settings.c.value).where(site_settings.c.key == key)
    return await conn.scalar(query)


async def put_setting(conn: AsyncConnection, *, key: str, value: Any) -> None:
    """Set a site setting (JSON value)."""
    if await get_setting(conn, key=key) is None:
        await conn.execute(sa.insert(site_settings).values(key=key, value=value))
    else:
        query = sa.update(site_settings).where(site_settings.c.key == key).values(value=value)
        await conn.execute(query)
