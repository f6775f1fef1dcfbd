"""kill -9 the writer at random moments: nothing it reported committed is ever lost, neither
the events nor the pass state committed with them (issue 15 item 8; docs/reliability.md,
"Power cuts")."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROUNDS = 30


@pytest.mark.slow
def test_kill_nine_loop_loses_nothing_committed(tmp_path: Path) -> None:
    db = tmp_path / "gate.db"
    acknowledged: list[int] = []
    rng = random.Random(7)
    for _ in range(ROUNDS):
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.device.store.crash_writer", str(db)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None
        first = child.stdout.readline()  # wait until it is writing
        time.sleep(rng.uniform(0.0, 0.15))
        child.send_signal(signal.SIGKILL)
        rest, _ = child.communicate(timeout=10)
        acknowledged += [int(x) for x in (first + rest).split()]
        with sqlite3.connect(db) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            seqs = [row[0] for row in conn.execute("SELECT seq FROM outbox ORDER BY seq")]
            presence = dict(conn.execute("SELECT ref, at FROM presence").fetchall())
        assert set(acknowledged) <= set(seqs), "a committed event was lost"
        for last in acknowledged:  # the pass each commit let through (crash_writer: seq % 50)
            first_seq = last - 1
            assert presence[f"{first_seq % 50:016x}"] >= first_seq, "committed state was lost"
        assert seqs == list(range(1, len(seqs) + 1)), "a gap or a reused seq"
    assert len(acknowledged) > ROUNDS
