"""The gate's SQLite file: opened durable (WAL, synchronous=FULL), checked, quarantined if bad.

The connection lives on one worker thread (``StoreWorker``) and every *transaction* runs there
as one function call: a decision's commit is five statements, and handing each statement to a
thread separately (as aiosqlite does) cost more than the fsync itself on the scan-to-relay path
(measured: p50 5.2 ms per commit through aiosqlite against 0.7 ms for the same transaction in
one call). A file that fails ``PRAGMA quick_check`` (or is not a database at all) is moved aside
with its WAL and shared-memory files and a fresh one is created; the caller raises a
``store_corrupt`` alarm. Nothing is ever silently reused.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path
from typing import TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")
SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 5000
# ``dead_letters``: events the gate keeps instead of sending, refused by the server's ack (with
# their seq, ``refused_by`` 'server') or by the gate's own check before the commit (no seq,
# 'gate'). Every table is created if missing at each open, so an older store gains it.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    boot_id TEXT NOT NULL,
    payload BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS blobs (name TEXT PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS presence (
    ref TEXT PRIMARY KEY, direction TEXT NOT NULL, at INTEGER NOT NULL, gate TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (
    ref TEXT PRIMARY KEY, uses INTEGER NOT NULL DEFAULT 0, wrong INTEGER NOT NULL DEFAULT 0,
    locked_at INTEGER
);
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY,
    seq INTEGER UNIQUE,
    event_id TEXT NOT NULL,
    boot_id TEXT NOT NULL,
    payload BLOB NOT NULL,
    reason TEXT NOT NULL,
    refused_by TEXT NOT NULL,
    at INTEGER NOT NULL
);
"""


WAL_SIZE_LIMIT = 8 * 1024 * 1024  # bytes the WAL file is cut back to once checkpointed
DURABLE_PRAGMAS = (
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = FULL",
    f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}",
    # a person's commit never copies the WAL back (SQLite's default: whichever commit crosses
    # 1,000 pages does it, 5-20 ms here); GateStore.checkpoint does it on its own connection
    "PRAGMA wal_autocheckpoint = 0",
    f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT}",
)


class StoreError(Exception):
    """The local store failed (disk full, read-only, I/O error)."""


class StoreWorker:
    """One thread that owns the connection; ``call`` runs a function on it, the loop stays free."""

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gate-store")
        self._conn: sqlite3.Connection | None = None

    async def open(self, path: Path) -> Path | None:
        """Check, quarantine if needed, open durable; return the quarantined path, if any."""
        return await self._run(lambda: self._open_sync(path))

    def _open_sync(self, path: Path) -> Path | None:
        quarantined = _check_or_quarantine(path)
        try:
            conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
            for pragma in DURABLE_PRAGMAS:
                conn.execute(pragma)
            conn.executescript(_SCHEMA)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open store {path}: {exc}") from exc
        self._conn = conn
        return quarantined

    async def open_reader(self, path: Path, *, mode: str = "ro") -> None:
        """Open a second connection to a store another worker already opened: read-only for
        the drain's reads, read-write (``mode="rw"``) for checkpoints. Neither waits for the
        writer, nor it for them (WAL)."""
        await self._run(lambda: self._open_reader_sync(path, mode))

    def _open_reader_sync(self, path: Path, mode: str) -> None:
        try:
            uri = f"{path.resolve().as_uri()}?mode={mode}"
            conn = sqlite3.connect(
                uri, uri=True, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000
            )
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open store {path} for reading: {exc}") from exc
        self._conn = conn

    async def call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(connection)`` on the store thread; sqlite errors become StoreError."""
        conn = self._conn
        if conn is None:
            raise StoreError("the store is not open")
        try:
            return await self._run(lambda: fn(conn))
        except sqlite3.Error as exc:
            raise StoreError(f"store operation failed: {exc}") from exc

    async def close(self) -> None:
        """Close the connection (a checkpoint happens on the last close) and stop the thread."""
        conn, self._conn = self._conn, None
        if conn is not None:
            await self._run(conn.close)
        self._executor.shutdown(wait=True)

    async def _run(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)


def _check_or_quarantine(path: Path) -> Path | None:
    """Run at start-up off the event loop: quarantine the file unless quick_check says ok."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        return None
    # We never leave an empty file behind (the schema is written at once), so an empty file is
    # a truncated one: SQLite would happily treat it as a new database and lose every event.
    if path.stat().st_size > 0 and _healthy(path):
        return None
    return _quarantine(path)


def _healthy(path: Path) -> bool:
    """``quick_check`` says ok, and the file is a database at all."""
    try:
        with closing(sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000)) as conn:
            rows = [row[0] for row in conn.execute("PRAGMA quick_check")]
    except sqlite3.DatabaseError as exc:
        logger.error("store %s is unreadable: %s", path, exc)
        return False
    if rows != ["ok"]:
        logger.error("store %s failed quick_check: %s", path, rows[:5])
        return False
    return True


def _quarantine(path: Path) -> Path:
    """Move the file and its WAL/SHM aside under a timestamped name; return the new path."""
    stamp = time.strftime("%Y%m%dT%H%M%S")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        src = Path(f"{path}{suffix}")
        if src.exists():
            src.rename(Path(f"{target}{suffix}"))
    logger.error("quarantined corrupt store as %s; starting a fresh one", target)
    return target


def pragmas(conn: sqlite3.Connection) -> dict[str, object]:
    """The durability settings in force (a start-up self-test reads them back)."""
    return {
        name: conn.execute(f"PRAGMA {name}").fetchone()[0]
        for name in ("journal_mode", "synchronous", "busy_timeout", "wal_autocheckpoint")
    }
