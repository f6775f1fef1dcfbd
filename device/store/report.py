"""The gate's store as a person asks about it from the shell (``gatepass-gate status``).

Read-only and beside a running daemon (WAL readers never wait for the writer): how many events
wait to be sent, from which seq, and the dead letters, newest first. Never creates, repairs or
quarantines a file: that is the daemon's to do when it opens the store.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from device.store.db import BUSY_TIMEOUT_MS, StoreError
from device.store.outbox import DeadLetter, _dead_letters, _meta, _scalar


@dataclass(frozen=True, slots=True)
class StoreReport:
    """What the outbox holds and what the gate set aside."""

    outbox_depth: int
    outbox_floor_seq: int
    next_seq: int
    dead_letter_count: int
    dead_letters: list[DeadLetter]


def read_report(path: Path, *, limit: int = 20) -> StoreReport:
    """The report of the store at ``path``; StoreError if it is missing or unreadable."""
    if not path.is_file():
        raise StoreError(f"no gate store at {path}")
    try:
        uri = f"{path.resolve().as_uri()}?mode=ro"
        with closing(sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000)) as conn:
            return _report(conn, limit)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot read gate store {path}: {exc}") from exc


def _report(conn: sqlite3.Connection, limit: int) -> StoreReport:
    next_seq = _meta(conn, "next_seq", 1)
    oldest = _scalar(conn, "SELECT MIN(seq) FROM outbox")
    return StoreReport(
        outbox_depth=_scalar(conn, "SELECT COUNT(*) FROM outbox"),
        outbox_floor_seq=oldest or next_seq,
        next_seq=next_seq,
        dead_letter_count=_scalar(conn, "SELECT COUNT(*) FROM dead_letters"),
        dead_letters=_dead_letters(conn, limit),
    )
