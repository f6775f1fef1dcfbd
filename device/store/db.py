"""The gate's SQLite file: opened durable (WAL, synchronous=FULL), checked, quarantined if bad.

The only module besides the other ``device/store`` modules that touches aiosqlite. A file that
fails ``PRAGMA quick_check`` (or is not a database at all) is moved aside with its WAL and
shared-memory files and a fresh one is created; the caller raises a ``store_corrupt`` alarm.
Nothing is ever silently reused.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import aiosqlite

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 5000
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
"""


class StoreError(Exception):
    """The local store failed (disk full, read-only, I/O error); the gate must not open."""


@dataclass(frozen=True, slots=True)
class Opened:
    """A ready connection, and the path of a quarantined file if one was moved aside."""

    conn: aiosqlite.Connection
    quarantined: Path | None


async def open_db(path: Path) -> Opened:
    """Open (or create) the store durable and verified; quarantine a corrupt file first."""
    quarantined = await asyncio.to_thread(_check_or_quarantine, path)
    try:
        conn = await _connect(path)
        await conn.executescript(_SCHEMA)
        await conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open store {path}: {exc}") from exc
    return Opened(conn, quarantined)


async def _connect(path: Path) -> aiosqlite.Connection:
    """A connection in autocommit mode (we issue BEGIN IMMEDIATE ourselves) with durable PRAGMAs."""
    conn = await aiosqlite.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    await conn.execute("PRAGMA journal_mode = WAL")
    await conn.execute("PRAGMA synchronous = FULL")
    await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    await conn.execute("PRAGMA foreign_keys = ON")
    return conn


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


async def pragmas(conn: aiosqlite.Connection) -> dict[str, object]:
    """The durability settings in force (a start-up self-test reads them back)."""
    out: dict[str, object] = {}
    for name in ("journal_mode", "synchronous", "busy_timeout"):
        async with conn.execute(f"PRAGMA {name}") as cursor:
            row = await cursor.fetchone()
            out[name] = row[0] if row else None
    return out
