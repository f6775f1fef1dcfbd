"""The database handle: an async SQLAlchemy engine, SQLite pragmas and the single writer path.

SQLite (aiosqlite) is the default and PostgreSQL (asyncpg) is a URL away: nothing outside this
package writes SQL, and the SQLite-only parts (pragmas, ``BEGIN IMMEDIATE``) are attached only
when the URL says sqlite. Writes go through :meth:`Database.write`, which serialises writers in
this process with one lock and opens the transaction with ``BEGIN IMMEDIATE`` so a writer never
upgrades a read lock halfway (the SQLITE_BUSY trap in WAL mode, reliability-security.md S-15).

Both paths hand out a :class:`Connection`, the store's own handle on the transaction: services
pass it to store functions without seeing SQLAlchemy, and every driver error becomes one of the
store's own (server.store.errors) right here, the way the gate's serial drivers convert theirs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection as SyncConnection
from sqlalchemy.engine import CursorResult, Dialect, ScalarResult
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from server.store.errors import IntegrityViolation, StoreError, Unavailable

logger = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 10_000  # >= 5 s (S-15): a CLI import and the server may write at once
_WRITE_OPTION = "gatepass_write"
_NO_TRANSACTION = "gatepass_no_transaction"

T = TypeVar("T")
Rows = CursorResult[*tuple[Any, ...]]  # rows of any width, as Core's untyped execute
# what the driver raises when the database cannot serve right now (locked, I/O, connection)
_TRANSIENT = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError, OSError)
_DRIVER_ERRORS = (sa_exc.SQLAlchemyError, OSError)


def translate(exc: BaseException) -> StoreError:
    """The store's own error for a driver's exception (the edge where they are converted)."""
    detail = f"{type(exc).__name__}: {exc}"[:500]
    if isinstance(exc, sa_exc.IntegrityError):
        return IntegrityViolation(detail)
    if isinstance(exc, _TRANSIENT):
        return Unavailable(detail)
    return StoreError(detail)


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


def _on_begin(conn: SyncConnection) -> None:
    """Writers take the write lock at BEGIN; readers start a deferred snapshot."""
    options = conn.get_execution_options()
    if options.get(_NO_TRANSACTION, False):
        return  # statements that must run outside a transaction (wal_checkpoint)
    immediate = options.get(_WRITE_OPTION, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Connection:
    """The store's handle on one transaction: store functions take it, services only pass it
    along. Every statement converts the driver's errors into the store's own (store.errors)."""

    __slots__ = ("_conn",)

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    @property
    def dialect(self) -> Dialect:
        """The database's SQL dialect (SQLite-only fast paths ask for it)."""
        return self._conn.dialect

    async def execute(self, statement: Any, parameters: Any = None) -> Rows:
        """Run a Core statement (with a list of parameter sets: executemany)."""
        return await _converted(self._conn.execute(statement, parameters))

    async def scalar(self, statement: Any, parameters: Any = None) -> Any:
        """The first column of the first row, or None."""
        return await _converted(self._conn.scalar(statement, parameters))

    async def scalars(self, statement: Any, parameters: Any = None) -> ScalarResult[Any]:
        """The first column of every row."""
        return await _converted(self._conn.scalars(statement, parameters))

    async def exec_driver_sql(self, sql: str, parameters: Any = None) -> Rows:
        """Plain SQL straight to the driver (fixed statements on the hot path only)."""
        return await _converted(self._conn.exec_driver_sql(sql, parameters))

    async def run_sync(self, fn: Callable[[SyncConnection], T]) -> T:
        """Run ``fn`` with the synchronous connection (Alembic's migrations)."""
        return await _converted(self._conn.run_sync(fn))


async def _converted(call: Awaitable[T]) -> T:
    """Await a driver call; its errors leave as the store's own."""
    try:
        return await call
    except _DRIVER_ERRORS as exc:
        raise translate(exc) from exc


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
    async def read(self) -> AsyncIterator[Connection]:
        """A connection inside a read transaction (a consistent snapshot), rolled back after."""
        try:
            async with self.engine.connect() as conn, conn.begin():
                yield Connection(conn)
        except _DRIVER_ERRORS as exc:  # opening, BEGIN or the rollback
            raise translate(exc) from exc

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Connection]:
        """A connection inside a write transaction: committed on success, rolled back on error.
        A commit the database refuses raises store.errors.Unavailable: nothing was written."""
        async with self._write_lock:
            try:
                async with self.engine.connect() as conn:
                    await conn.execution_options(**{_WRITE_OPTION: True})
                    async with conn.begin():
                        yield Connection(conn)
            except _DRIVER_ERRORS as exc:  # BEGIN IMMEDIATE, the commit or the rollback
                raise translate(exc) from exc

    async def checkpoint(self) -> None:
        """Fold the WAL into the main file (after erasure, so freed pages are overwritten there)."""
        if not self.is_sqlite:
            return
        async with self._write_lock:
            try:
                async with self.engine.connect() as conn:
                    await conn.execution_options(**{_NO_TRANSACTION: True})
                    await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                    await conn.commit()
            except _DRIVER_ERRORS as exc:
                raise translate(exc) from exc

    async def close(self) -> None:
        """Close every pooled connection (the lifespan's exit and the CLI's end)."""
        await self.engine.dispose()
