"""Server import: preview and apply of the office's register (issue 16), 5,095 rows.

The register is shaped like a real estate's (tests/server/office_register.py): 1,614
households, 5,095 rows, headers 楼号,单元,房号,姓名,联系电话,身份,是否居家观察,备注 and no zone
column, about 20 % of the rows without a phone, 40 "是" rows. A fresh one-zone site (made by the
same services as ``gatepass-server init``) previews it (worker read, checks, plan against the
registry, nothing written), then applies it (the same, then households, people, baselines and
observations written in one transaction). Each is timed end to end as the CLI runs it; the
second apply of the same file (nothing changes) is the baseline.
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
from server.services.registry.imports import import_residents
from server.services.registry.site import initialise
from server.store.db import Database
from tests.server.office_register import ROWS, rows, write_xlsx


async def _measure(data: Path, register: Path) -> tuple[float, float, float]:
    settings = load_settings(data, env={}, cookie_secure=False, retention_interval_s=0)
    env = Env(db=Database(settings.db_url), settings=settings, clock=SystemClock())
    try:
        await initialise(
            env, site="bench", name="bench", zones=["east"], admin="admin", root_passphrase=None
        )
        times = []
        for dry_run in (True, False, False):
            start = time.perf_counter()
            report = await import_residents(env, CLI_ACTOR, register, dry_run=dry_run)
            times.append(time.perf_counter() - start)
            assert not report.errors, report.errors[:3]
        assert report.nothing_to_do, report
        assert report.unchanged == ROWS, report
        return times[0], times[1], times[2]
    finally:
        await env.db.close()


def run() -> list[dict[str, Any]]:
    """Measure and return the table rows."""
    with tempfile.TemporaryDirectory(prefix="gatepass-bench-") as tmp:
        root = Path(tmp)
        register = write_xlsx(root / "register.xlsx", rows())
        (root / "data").mkdir()
        preview_s, apply_s, again_s = asyncio.run(_measure(root / "data", register))
    return [
        {
            "name": f"import preview of the office's register ({ROWS:,} rows, XLSX)",
            "value": preview_s,
            "unit": "s",
            "target": "≤ 5 s",
            "baseline": None,
        },
        {
            "name": f"import apply of the office's register ({ROWS:,} rows, 1,614 households)",
            "value": apply_s,
            "unit": "s",
            "target": "≤ 5 s",
            "baseline": f"same file again (nothing changes): {again_s:.2f} s",
        },
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
