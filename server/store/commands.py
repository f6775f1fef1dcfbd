"""SQL of signed commands to gates and the gates' answers."""

from __future__ import annotations

import sqlalchemy as sa

from server.records import SentCommand
from server.store.db import Connection
from server.store.query import PageRequest, fetch_page, record, values_of
from server.store.schema_gates import (
    commands,
)

# request ids are time-ordered (services.gates.commands.request_id): they break ties in a second
COMMAND_SORT = {"id": commands.c.request_id, "issued_at": commands.c.issued_at}


async def insert_command(conn: Connection, command: SentCommand) -> None:
    """Record a command as it was signed."""
    await conn.execute(sa.insert(commands).values(values_of(command, commands)))


async def mark_sent(conn: Connection, *, request_id: str) -> None:
    """The broker accepted the command for delivery."""
    query = sa.update(commands).where(commands.c.request_id == request_id).values(sent=True)
    await conn.execute(query)


async def get_command(conn: Connection, *, request_id: str) -> SentCommand | None:
    """One command by request id."""
    query = sa.select(commands).where(commands.c.request_id == request_id)
    return record(SentCommand, (await conn.execute(query)).first())


async def record_result(
    conn: Connection, *, request_id: str, outcome: str, result_at: int, detail: str | None
) -> int:
    """Store a gate's answer to a command; returns rows changed (0: unknown request)."""
    query = (
        sa.update(commands)
        .where(commands.c.request_id == request_id, commands.c.outcome.is_(None))
        .values(outcome=outcome, result_at=result_at, detail=detail)
    )
    return (await conn.execute(query)).rowcount


async def search_commands(
    conn: Connection, *, gates: list[str] | None, page: PageRequest
) -> tuple[list[SentCommand], int]:
    """Commands, newest first, optionally only of ``gates``."""
    query = sa.select(commands)
    if gates is not None:
        query = query.where(commands.c.gate.in_(gates))
    return await fetch_page(conn, query, page, COMMAND_SORT, SentCommand)
