"""The gate's durable record: the event outbox, the decision state, signed blobs, the time floor.

Every decision is committed here, in one ``BEGIN IMMEDIATE`` transaction with its state change,
*before* the relay moves. A row leaves only when the server acks its seq. Sequence numbers are
per gate, persisted, and never reused. The outbox is bounded: past ``max_events`` ordinary
events are refused (``OutboxFull``) while a small reserve still takes alarms and overrides, so
the lane never opens without a record (docs/gate.md, "When the outbox is full").
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import aiosqlite

from device.core.state import GateState, Presence
from device.store.db import StoreError, open_db
from protocol.messages import GateEvent, LaneDirection, encode

logger = logging.getLogger(__name__)

RESERVE = 1000  # rows beyond max_events kept for alarms and staff overrides
HIGH_WATER = 0.8  # share of max_events that raises the outbox_high alarm


class OutboxFull(StoreError):
    """The outbox holds ``max_events``; ordinary decisions are refused until the server acks."""


@dataclass(frozen=True, slots=True)
class Pending:
    """One unacked event, as published."""

    seq: int
    payload: bytes


class GateStore:
    """Single-writer access to the gate's SQLite file (one instance per daemon)."""

    def __init__(self, conn: aiosqlite.Connection, max_events: int, next_seq: int, depth: int):
        self._conn = conn
        self.max_events = max_events
        self.next_seq = next_seq
        self.depth = depth
        self.quarantined: Path | None = None

    @classmethod
    async def open(cls, path: Path, *, max_events: int, reseed: int) -> GateStore:
        """Open or create the store.

        A brand-new file starts at seq 1. After a corrupt file was quarantined its last seq is
        unknown, so numbering restarts at ``reseed`` (the caller passes the time in ms): a gap
        the server reports, never a reuse of a seq it may already hold.
        """
        opened = await open_db(path)
        conn = opened.conn
        fresh_seq = reseed if opened.quarantined is not None else 1
        next_seq = await _meta(conn, "next_seq", fresh_seq)
        depth = await _scalar(conn, "SELECT COUNT(*) FROM outbox")
        store = cls(conn, max_events, next_seq, depth)
        store.quarantined = opened.quarantined
        return store

    async def close(self) -> None:
        """Close the connection (a checkpoint happens on the last close); idempotent."""
        await self._conn.close()

    @property
    def high(self) -> bool:
        """At or above the high-water mark (80 % of max_events)."""
        return self.depth >= HIGH_WATER * self.max_events

    def room_for(self, count: int, *, priority: bool) -> bool:
        """Whether ``count`` more events fit (priority events may use the reserve)."""
        limit = self.max_events + (RESERVE if priority else 0)
        return self.depth + count <= limit

    async def record(
        self,
        events: Sequence[GateEvent],
        state: GateState | None = None,
        touched: Iterable[str] = (),
        *,
        priority: bool = False,
    ) -> None:
        """Commit events (their seqs must be the next ones) and the state of ``touched`` refs."""
        if not self.room_for(len(events), priority=priority):
            raise OutboxFull(f"outbox holds {self.depth} of {self.max_events} events")
        expected = list(range(self.next_seq, self.next_seq + len(events)))
        if [e.seq for e in events] != expected:
            raise ValueError(f"events must carry seqs {expected}")
        rows = [(e.seq, e.event_id, e.boot_id, encode(e)) for e in events]
        await self._write(rows, state, list(touched))
        self.next_seq += len(events)
        self.depth += len(events)

    async def _write(
        self, rows: list[tuple[int, str, str, bytes]], state: GateState | None, touched: list[str]
    ) -> None:
        conn = self._conn
        try:
            await conn.execute("BEGIN IMMEDIATE")
            try:
                await conn.executemany("INSERT INTO outbox VALUES (?, ?, ?, ?)", rows)
                if state is not None:
                    await _save_refs(conn, state, touched)
                await _set_meta(conn, "next_seq", self.next_seq + len(rows))
                await conn.execute("COMMIT")
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise StoreError(f"could not commit {len(rows)} events: {exc}") from exc

    async def pending(self, after_seq: int, limit: int) -> list[Pending]:
        """Unacked events after ``after_seq``, oldest first."""
        sql = "SELECT seq, payload FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?"
        async with self._conn.execute(sql, (after_seq, limit)) as cursor:
            return [Pending(seq, bytes(payload)) async for seq, payload in cursor]

    async def ack(self, upto_seq: int) -> int:
        """Delete every event with seq <= ``upto_seq`` (the server committed them)."""
        try:
            cursor = await self._conn.execute("DELETE FROM outbox WHERE seq <= ?", (upto_seq,))
        except sqlite3.Error as exc:
            raise StoreError(f"could not apply ack {upto_seq}: {exc}") from exc
        removed = cursor.rowcount
        self.depth -= removed
        return removed

    async def floor_seq(self) -> int:
        """The oldest seq still held, or the next seq if nothing is pending."""
        oldest = await _scalar(self._conn, "SELECT MIN(seq) FROM outbox")
        return oldest if oldest else self.next_seq

    async def load_state(self) -> GateState:
        """Presence, uses, wrong-digit counts and locks as last committed."""
        presence: dict[str, Presence] = {}
        async with self._conn.execute("SELECT ref, direction, at, gate FROM presence") as cur:
            async for ref, direction, at, gate in cur:
                presence[ref] = Presence(LaneDirection(direction), at, gate)
        uses, wrong, locks = {}, {}, {}
        async with self._conn.execute("SELECT ref, uses, wrong, locked_at FROM counters") as cur:
            async for ref, n_uses, n_wrong, locked_at in cur:
                uses[ref], wrong[ref] = n_uses, n_wrong
                if locked_at is not None:
                    locks[ref] = locked_at
        return GateState(
            presence=presence,
            uses={k: v for k, v in uses.items() if v},
            wrong_digits={k: v for k, v in wrong.items() if v},
            locks=locks,
        )

    async def save_state(self, state: GateState, touched: Iterable[str]) -> None:
        """Persist the state of some refs outside an event (a peer's grant or lock)."""
        try:
            await self._conn.execute("BEGIN IMMEDIATE")
            await _save_refs(self._conn, state, list(touched))
            await self._conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise StoreError(f"could not save state: {exc}") from exc

    async def get_blob(self, name: str) -> bytes | None:
        """A stored signed message (manifest, revocation list, config) or None."""
        async with self._conn.execute("SELECT data FROM blobs WHERE name = ?", (name,)) as cur:
            row = await cur.fetchone()
        return bytes(row[0]) if row else None

    async def put_blob(self, name: str, data: bytes) -> None:
        """Store a signed message that has just been verified and applied."""
        sql = "INSERT INTO blobs VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET data = excluded.data"
        try:
            await self._conn.execute(sql, (name, data))
        except sqlite3.Error as exc:
            raise StoreError(f"could not store {name}: {exc}") from exc

    async def time_floor(self) -> int:
        """The last known good unix time (0 if never set)."""
        return await _meta(self._conn, "time_floor", 0)

    async def raise_time_floor(self, at: int) -> None:
        """Move the floor up (never down)."""
        sql = (
            "INSERT INTO meta VALUES ('time_floor', ?) ON CONFLICT(key) "
            "DO UPDATE SET value = MAX(value, excluded.value)"
        )
        await self._conn.execute(sql, (at,))


async def _save_refs(conn: aiosqlite.Connection, state: GateState, refs: list[str]) -> None:
    """Upsert presence and counters for ``refs`` (only the rows a decision changed)."""
    for ref in refs:
        seen = state.presence.get(ref)
        if seen is not None:
            await conn.execute(
                "INSERT OR REPLACE INTO presence VALUES (?, ?, ?, ?)",
                (ref, seen.direction.value, seen.at, seen.gate),
            )
        counts = (state.uses.get(ref, 0), state.wrong_digits.get(ref, 0), state.locks.get(ref))
        await conn.execute("INSERT OR REPLACE INTO counters VALUES (?, ?, ?, ?)", (ref, *counts))


async def _meta(conn: aiosqlite.Connection, key: str, default: int) -> int:
    async with conn.execute("SELECT value FROM meta WHERE key = ?", (key,)) as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else default


async def _set_meta(conn: aiosqlite.Connection, key: str, value: int) -> None:
    await conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))


async def _scalar(conn: aiosqlite.Connection, sql: str) -> int:
    async with conn.execute(sql) as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row and row[0] is not None else 0
