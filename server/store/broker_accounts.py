"""SQL of the broker accounts: the mosquitto_passwd hash of the server's and each gate's
password (never a password)."""

from __future__ import annotations

import sqlalchemy as sa

from server.records import BrokerAccount
from server.store.db import Connection
from server.store.query import record, records
from server.store.schema_gates import (
    broker_accounts,
)


async def delete_account(conn: Connection, *, username: str) -> int:
    """Drop a broker account (a removed gate); its config row stays so versions keep rising."""
    query = sa.delete(broker_accounts).where(broker_accounts.c.username == username)
    return (await conn.execute(query)).rowcount


async def get_account(conn: Connection, *, username: str) -> BrokerAccount | None:
    """One broker account."""
    query = sa.select(broker_accounts).where(broker_accounts.c.username == username)
    return record(BrokerAccount, (await conn.execute(query)).first())


async def list_accounts(conn: Connection) -> list[BrokerAccount]:
    """Every broker account, server first, then gates by name."""
    query = sa.select(broker_accounts).order_by(
        broker_accounts.c.role.desc(), broker_accounts.c.username
    )
    return records(BrokerAccount, await conn.execute(query))


async def put_account(
    conn: Connection, *, username: str, role: str, hash_line: str, now: int
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
