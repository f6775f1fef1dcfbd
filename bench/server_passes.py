"""Server passes for everyone: ``passes issue`` for the whole site of 5,089 residents (a fifth of
them without a phone, so their passes carry a card PIN's tag), then again (it issues nothing).

The site is made by the same services as ``gatepass-server init`` in a temporary directory, the
register imported with the real import; the timing is the service ``issue_everyone`` (one write
transaction: read the residents and who holds a live pass, sign, store and audit each pass).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from server.clock import SystemClock
from server.config import load_settings
from server.services.context import CLI_ACTOR, Env
from server.services.passes import everyone
from server.services.registry.imports import import_residents
from server.services.registry.site import initialise
from server.store.db import Database
from tests.server.registers import HEADERS_ZH, people, write_xlsx

RESIDENTS = 5089


async def _measure(root: Path) -> tuple[float, float, int, int]:
    rows = people(RESIDENTS)
    for row in rows[::5]:
        row[4] = ""  # no phone: a card PIN
    register = write_xlsx(root / "register.xlsx", HEADERS_ZH, rows)
    (root / "data").mkdir()
    settings = load_settings(root / "data", env={}, cookie_secure=False, retention_interval_s=0)
    env = Env(db=Database(settings.db_url), settings=settings, clock=SystemClock())
    try:
        await initialise(
            env, site="bench", name="bench", zones=["east"], admin="admin", root_passphrase=None
        )
        report = await import_residents(env, CLI_ACTOR, register)
        assert report.written, report
        start = time.perf_counter()
        first = await everyone.issue_everyone(env, CLI_ACTOR, everyone.Place())
        first_s = time.perf_counter() - start
        start = time.perf_counter()
        second = await everyone.issue_everyone(env, CLI_ACTOR, everyone.Place())
        second_s = time.perf_counter() - start
    finally:
        await env.db.close()
    assert len(first.issued) == RESIDENTS, first.skipped[:3]
    assert not second.issued
    assert second.already_had == RESIDENTS
    return first_s, second_s, len(first.issued), second.already_had


def run() -> list[dict[str, Any]]:
    """Measure and return the table rows."""
    with tempfile.TemporaryDirectory(prefix="gatepass-bench-") as tmp:
        first_s, second_s, issued, had = asyncio.run(_measure(Path(tmp)))
    return [
        {
            "name": f"passes for everyone: {issued:,} residents, one transaction",
            "value": first_s,
            "unit": "s",
            "target": "≤ 10 s",
            "baseline": None,
        },
        {
            "name": f"passes for everyone again: {had:,} already had one, none issued",
            "value": second_s,
            "unit": "s",
            "target": None,
            "baseline": None,
        },
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
