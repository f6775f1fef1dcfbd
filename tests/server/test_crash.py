"""kill -9 the server at random moments of a burst of pass issuance (issue 15 item 8): every pass
whose issuance returned is still there, the database checks clean, and nothing is half-written.

A process killed with SIGKILL leaves what the kernel holds; a power cut also drops the page
cache. The server's SQLite runs WAL with ``synchronous=FULL`` (server/store/db.py), so a
returned commit is on disk before the call returns: the same rows survive either way
(docs/reliability.md, "Power cuts", says what is and is not covered).
"""

from __future__ import annotations

import asyncio
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from server.services import registry
from server.services.context import CLI_ACTOR
from server.services.registry import residents
from tests.faults.harness import build

ROUNDS = 12


async def _resident(tmp_path: Path) -> tuple[Path, int]:
    site = await build(tmp_path)
    env = site.env()
    try:
        household = await registry.places.save_household(
            env,
            CLI_ACTOR,
            None,
            registry.places.HouseholdFields(zone_id=1, building="1", unit="1", room="101"),
        )
        person = await residents.save(
            env,
            CLI_ACTOR,
            None,
            residents.ResidentFields(household_id=household.id, name="王芳", role="family"),
        )
    finally:
        await env.db.close()
    return site.settings.data_dir, person.id


@pytest.mark.slow
def test_kill_nine_during_issuance_loses_no_returned_pass(tmp_path: Path) -> None:
    data, resident = asyncio.run(_resident(tmp_path))
    db = next(data.glob("*.db"))
    returned: list[str] = []
    rng = random.Random(11)
    for _ in range(ROUNDS):
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.server.crash_issuer", str(data), str(resident)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None
        first = child.stdout.readline()  # issuing now
        time.sleep(rng.uniform(0.0, 0.3))
        child.send_signal(signal.SIGKILL)
        rest, _ = child.communicate(timeout=20)
        returned += (first + rest).split()
        with sqlite3.connect(db) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            stored = {row[0] for row in conn.execute("SELECT ref FROM passes")}
            audited = conn.execute(
                "SELECT COUNT(*) FROM audit_log WHERE action = 'pass.issue'"
            ).fetchone()[0]
        assert set(returned) <= stored, "a pass whose issuance returned was lost"
        assert audited == len(stored), "a pass without its audit entry, or the reverse"
    assert len(returned) > ROUNDS
