"""The gate's durable record: the event outbox, the decision state, signed blobs, the time floor.

Every decision is committed here, in one ``BEGIN IMMEDIATE`` transaction with its state change,
*before* the relay moves. Only payloads that decode back to their event as the server decodes
them are committed (``protocol.messages.encode_checked``). A row leaves only when the server
acks its seq, or moves to the dead-letter table when the server's ack says it refused it.
Sequence numbers are per gate, persisted, and never reused. The outbox is bounded: past
``max_events`` ordinary events are refused (``OutboxFull``) while a small reserve still takes
alarms and overrides, so the lane never opens without a record (docs/gate.md, "When the outbox
is full").
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from device.core.state import GateState, Presence
from device.store.db import StoreError, StoreWorker
from protocol.errors import MessageError
from protocol.messages import GateEvent, LaneDirection, encode_checked
from protocol.reasons import RefusalCode
from protocol.topics import TopicKind

logger = logging.getLogger(__name__)

T = TypeVar("T")

RESERVE = 1000  # rows beyond max_events kept for alarms and staff overrides
HIGH_WATER = 0.8  # share of max_events that raises the outbox_high alarm


class OutboxFull(StoreError):
    """The outbox holds ``max_events``; ordinary decisions are refused until the server acks."""


class Unsendable(StoreError):
    """An event whose payload the server's decoder would refuse: never committed as it is."""


@dataclass(frozen=True, slots=True)
class Pending:
    """One unacked event, as published."""

    seq: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An event kept instead of sent: refused by the server (``seq`` set) or by the gate's own
    check before the commit (``seq`` None: it never took one). ``at`` is unix ms."""

    event_id: str
    boot_id: str
    payload: bytes
    reason: RefusalCode
    at: int
    seq: int | None = None

    @property
    def refused_by(self) -> str:
        """'server' for a refusal in an ack, 'gate' for the gate's own."""
        return "gate" if self.seq is None else "server"


class GateStore:
    """Single-writer access to the gate's SQLite file (one instance per daemon)."""

    def __init__(
        self,
        workers: tuple[StoreWorker, StoreWorker, StoreWorker],
        max_events: int,
        next_seq: int,
        depth: int,
    ) -> None:
        # the writer; the drain's reads and the checkpoints, so no live commit queues behind them
        self._worker, self._reader, self._checkpointer = workers
        self.max_events = max_events
        self.next_seq = next_seq
        self.depth = depth
        self.dead = 0  # rows in the dead-letter table
        self.quarantined: Path | None = None

    @classmethod
    async def open(cls, path: Path, *, max_events: int, reseed: int) -> GateStore:
        """Open or create the store.

        A brand-new file starts at seq 1. After a corrupt file was quarantined its last seq is
        unknown, so numbering restarts at ``reseed`` (the caller passes the time in ms): a gap
        the server reports, never a reuse of a seq it may already hold.
        """
        worker = StoreWorker()
        quarantined = await worker.open(path)
        fresh_seq = reseed if quarantined is not None else 1
        next_seq, depth = await worker.call(
            lambda c: (_meta(c, "next_seq", fresh_seq), _scalar(c, "SELECT COUNT(*) FROM outbox"))
        )
        reader, checkpointer = StoreWorker(), StoreWorker()
        await reader.open_reader(path)
        await checkpointer.open_reader(path, mode="rw")
        store = cls((worker, reader, checkpointer), max_events, next_seq, depth)
        store.quarantined = quarantined
        store.dead = await worker.call(lambda c: _scalar(c, "SELECT COUNT(*) FROM dead_letters"))
        return store

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(connection)`` on the store's thread (self-tests and fault injection)."""
        return await self._worker.call(fn)

    async def close(self) -> None:
        """Close the connections and their threads; idempotent."""
        await self._checkpointer.close()
        await self._reader.close()
        await self._worker.close()

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
        refused: Sequence[DeadLetter] = (),
    ) -> None:
        """Commit events (their seqs must be the next ones), the events the gate's own check
        refused (as dead letters) and the state of ``touched`` refs, all or nothing."""
        if not self.room_for(len(events), priority=priority):
            raise OutboxFull(f"outbox holds {self.depth} of {self.max_events} events")
        expected = list(range(self.next_seq, self.next_seq + len(events)))
        if [e.seq for e in events] != expected:
            raise ValueError(f"events must carry seqs {expected}")
        rows = [(e.seq, e.event_id, e.boot_id, _payload(e)) for e in events]
        letters = [_letter_row(d) for d in refused]
        next_seq, refs = self.next_seq + len(rows), list(touched)
        await self._worker.call(
            lambda c: _commit(c, rows, letters, state=state, refs=refs, next_seq=next_seq)
        )
        self.next_seq = next_seq
        self.depth += len(events)
        self.dead += len(letters)

    async def pending(self, after_seq: int, limit: int) -> list[Pending]:
        """Unacked events after ``after_seq``, oldest first."""
        sql = "SELECT seq, payload FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?"
        rows = await self._reader.call(lambda c: c.execute(sql, (after_seq, limit)).fetchall())
        return [Pending(seq, bytes(payload)) for seq, payload in rows]

    async def ack(self, upto_seq: int, *, limit: int | None = None) -> int:
        """Delete the events with seq <= ``upto_seq`` (the server committed them), at most
        ``limit`` of them, oldest first: a short transaction a live commit never waits long for."""
        sql = "DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox WHERE seq <= ? LIMIT ?)"
        args = (upto_seq, -1 if limit is None else limit)  # LIMIT -1: no limit
        removed: int = await self._worker.call(lambda c: c.execute(sql, args).rowcount)
        self.depth -= removed
        return removed

    async def refuse(self, refusals: Sequence[tuple[int, RefusalCode]], at: int) -> int:
        """Move the rows the server refused (seq, why) from the outbox to the dead-letter table,
        in one transaction; returns how many moved (a refusal heard twice moves nothing)."""
        args = [(reason.value, at, seq) for seq, reason in refusals]
        moved: int = await self._worker.call(lambda c: _move_refused(c, args))
        self.depth -= moved
        self.dead += moved
        return moved

    async def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        """The newest dead letters, newest first."""
        return await self._reader.call(lambda c: _dead_letters(c, limit))

    async def checkpoint(self) -> int:
        """Copy committed WAL pages into the database file, beside the writer (never in a
        person's commit). PASSIVE: it waits for nobody, so a reader may hold pages back;
        returns how many are left in the WAL only (0: the database file is up to date)."""
        row = await self._checkpointer.call(
            lambda c: c.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        )
        _busy, log, copied = row
        return max(0, int(log) - int(copied))

    async def floor_seq(self) -> int:
        """The oldest seq still held, or the next seq if nothing is pending."""
        oldest = await self._reader.call(lambda c: _scalar(c, "SELECT MIN(seq) FROM outbox"))
        return oldest if oldest else self.next_seq

    async def load_state(self) -> GateState:
        """Presence, uses, wrong-digit counts and locks as last committed."""
        return await self._worker.call(_load_state)

    async def save_state(self, state: GateState, touched: Iterable[str]) -> None:
        """Persist the state of some refs outside an event (a peer's grant or lock)."""
        refs = list(touched)
        await self._worker.call(lambda c: _transaction(c, lambda: _save_refs(c, state, refs)))

    async def get_blob(self, name: str) -> bytes | None:
        """A stored signed message (manifest, revocation list, config) or None."""
        sql = "SELECT data FROM blobs WHERE name = ?"
        row = await self._worker.call(lambda c: c.execute(sql, (name,)).fetchone())
        return bytes(row[0]) if row else None

    async def put_blob(self, name: str, data: bytes) -> None:
        """Store a signed message that has just been verified and applied."""
        sql = "INSERT INTO blobs VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET data = excluded.data"
        await self._worker.call(lambda c: c.execute(sql, (name, data)))

    async def time_floor(self) -> int:
        """The last known good unix time (0 if never set)."""
        return await self._worker.call(lambda c: _meta(c, "time_floor", 0))

    async def raise_time_floor(self, at: int) -> None:
        """Move the floor up (never down)."""
        sql = (
            "INSERT INTO meta VALUES ('time_floor', ?) ON CONFLICT(key) "
            "DO UPDATE SET value = MAX(value, excluded.value)"
        )
        await self._worker.call(lambda c: c.execute(sql, (at,)))


# --- on the store thread: each function below is one transaction or one query -------------


def _payload(event: GateEvent) -> bytes:
    """The event's JSON, checked to decode back to it as the server decodes it."""
    try:
        return encode_checked(TopicKind.EVENTS, event)
    except MessageError as exc:
        raise Unsendable(f"event seq {event.seq} would be refused: {exc}") from exc


_LETTER_SQL = (
    "INSERT INTO dead_letters (seq, event_id, boot_id, payload, reason, refused_by, at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
LetterRow = tuple[int | None, str, str, bytes, str, str, int]


def _letter_row(letter: DeadLetter) -> LetterRow:
    return (
        letter.seq,
        letter.event_id,
        letter.boot_id,
        letter.payload,
        letter.reason.value,
        letter.refused_by,
        letter.at,
    )


def _commit(
    conn: sqlite3.Connection,
    rows: list[tuple[int, str, str, bytes]],
    letters: list[LetterRow],
    *,
    state: GateState | None,
    refs: list[str],
    next_seq: int,
) -> None:
    """One decision: its events, its refused events, the state it changed and the next seq,
    all or nothing."""

    def write() -> None:
        conn.executemany("INSERT INTO outbox VALUES (?, ?, ?, ?)", rows)
        conn.executemany(_LETTER_SQL, letters)
        if state is not None:
            _save_refs(conn, state, refs)
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('next_seq', ?)", (next_seq,))

    _transaction(conn, write)


def _move_refused(conn: sqlite3.Connection, args: list[tuple[str, int, int]]) -> int:
    """Copy each refused row into the dead letters, then delete it from the outbox (a row whose
    copy did not happen stays where it is)."""
    moved = 0

    def write() -> None:
        nonlocal moved
        for reason, at, seq in args:
            copied = conn.execute(
                "INSERT OR IGNORE INTO dead_letters "
                "(seq, event_id, boot_id, payload, reason, refused_by, at) "
                "SELECT seq, event_id, boot_id, payload, ?, 'server', ? FROM outbox WHERE seq = ?",
                (reason, at, seq),
            ).rowcount
            if copied:
                conn.execute("DELETE FROM outbox WHERE seq = ?", (seq,))
                moved += 1

    _transaction(conn, write)
    return moved


def _dead_letters(conn: sqlite3.Connection, limit: int) -> list[DeadLetter]:
    sql = (
        "SELECT event_id, boot_id, payload, reason, at, seq FROM dead_letters "
        "ORDER BY id DESC LIMIT ?"
    )
    return [
        DeadLetter(event_id, boot_id, bytes(payload), RefusalCode(reason), at, seq)
        for event_id, boot_id, payload, reason, at, seq in conn.execute(sql, (limit,))
    ]


def _transaction(conn: sqlite3.Connection, write: Callable[[], None]) -> None:
    """``BEGIN IMMEDIATE`` … ``COMMIT``, rolled back on any error (SQLite has already rolled
    back after some, a full disk among them: then there is nothing to roll back, and the error
    that says why is the one raised)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        write()
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _save_refs(conn: sqlite3.Connection, state: GateState, refs: list[str]) -> None:
    """Upsert presence and counters for ``refs`` (only the rows a decision changed)."""
    for ref in refs:
        seen = state.presence.get(ref)
        if seen is not None:
            conn.execute(
                "INSERT OR REPLACE INTO presence VALUES (?, ?, ?, ?)",
                (ref, seen.direction.value, seen.at, seen.gate),
            )
        counts = (state.uses.get(ref, 0), state.wrong_digits.get(ref, 0), state.locks.get(ref))
        conn.execute("INSERT OR REPLACE INTO counters VALUES (?, ?, ?, ?)", (ref, *counts))


def _load_state(conn: sqlite3.Connection) -> GateState:
    presence = {
        ref: Presence(LaneDirection(direction), at, gate)
        for ref, direction, at, gate in conn.execute(
            "SELECT ref, direction, at, gate FROM presence"
        )
    }
    uses, wrong, locks = {}, {}, {}
    for ref, n_uses, n_wrong, locked_at in conn.execute(
        "SELECT ref, uses, wrong, locked_at FROM counters"
    ):
        if n_uses:
            uses[ref] = n_uses
        if n_wrong:
            wrong[ref] = n_wrong
        if locked_at is not None:
            locks[ref] = locked_at
    return GateState(presence=presence, uses=uses, wrong_digits=wrong, locks=locks)


def _meta(conn: sqlite3.Connection, key: str, default: int) -> int:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return int(row[0]) if row else default


def _scalar(conn: sqlite3.Connection, sql: str) -> int:
    row = conn.execute(sql).fetchone()
    return int(row[0]) if row and row[0] is not None else 0
