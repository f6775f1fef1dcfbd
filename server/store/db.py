"""The database handle: an async SQLAlchemy engine, SQLite pragmas and the single writer path.

SQLite (aiosqlite) is the default and PostgreSQL (asyncpg) is a URL away: nothing outside this
package writes SQL, and the SQLite-only parts (pragmas, ``BEGIN IMMEDIATE``) are attached only
when the URL says sqlite. Writes go through :meth:`Database.write`, which serialises writers in
this process with one lock and opens the transaction with ``BEGIN IMMEDIATE`` so a writer never
upgrades a read lock halfway (the SQLITE_BUSY trap in WAL mode, reliability-security.md S-15).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

logger = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 10_000  # >= 5 s (S-15): a CLI import and the server may write at once
_WRITE_OPTION = "gatepass_write"
_NO_TRANSACTION = "gatepass_no_transaction"


class StoreError(Exception):
    """The database refused an operation (integrity, locked, corrupt); carries the cause."""


def sqlite_url(path: Path) -> str:
    """The SQLAlchemy URL of a SQLite file through aiosqlite."""
    return f"sqlite+aiosqlite:///{path}"


def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    """Per-connection pragmas; autocommit at the driver so our BEGIN is the only one."""
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in (
        "journal_mode=WAL",
        f"busy_timeout={BUSY_TIMEOUT_MS}",
        "foreign_keys=ON",
        "synchronous=FULL",
        "secure_delete=ON",  # erased personal data is overwritten, not left in free pages
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _on_begin(conn: Connection) -> None:
    """Writers take the write lock at BEGIN; readers start a deferred snapshot."""
    options = conn.get_execution_options()
    if options.get(_NO_TRANSACTION, False):
        return  # statements that must run outside a transaction (wal_checkpoint)
    immediate = options.get(_WRITE_OPTION, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Database:
    """One engine for the process, with a read path and a serialised write path."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.engine: AsyncEngine = create_async_engine(url, echo=echo)
        self._write_lock = asyncio.Lock()
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _on_connect)
            event.listen(self.engine.sync_engine, "begin", _on_begin)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection inside a read transaction (a consistent snapshot), rolled back after."""
        async with self.engine.connect() as conn, conn.begin():
            yield conn

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A connection inside a write transaction: committed on success, rolled back on error."""
        async with self._write_lock, self.engine.connect() as conn:
            await conn.execution_options(**{_WRITE_OPTION: True})
            async with conn.begin():
                yield conn

    async def checkpoint(self) -> None:
        """Fold the WAL into the main file (after erasure, so freed pages are overwritten there)."""
        if not self.is_sqlite:
            return
        async with self._write_lock, self.engine.connect() as conn:
            await conn.execution_options(**{_NO_TRANSACTION: True})
            await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            await conn.commit()

    async def close(self) -> None:
        """Close every pooled connection (the lifespan's exit and the CLI's end)."""
        await self.engine.dispose()
