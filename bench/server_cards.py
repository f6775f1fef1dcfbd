"""Server cards: the delivery PDF of a whole site of 5,100 residents (17 buildings, 34 units).

A site is made by the same services as ``gatepass-server init``, its register imported and a
pass issued to everyone; then ``gatepass-server cards --out site.pdf`` runs as the office runs
it, in its own process. Time is the command's wall time (start-up, query, checklists, QR
symbols in the worker processes, layout, the atomic write). Memory is the peak of the summed
RSS of the command's process tree (the command and its QR workers), sampled every 20 ms from
/proc. Targets (issue 16): ≤ 60 s and ≤ 500 MB.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from server.clock import SystemClock
from server.config import load_settings
from server.services.context import Env
from server.services.registry.site import initialise
from server.store.db import Database
from tests.server.cardsite import Layout, build

LAYOUT = Layout(
    buildings=tuple(f"{n}号楼" for n in range(1, 18)),
    units=("1单元", "2单元"),
    floors=(1, 2, 3, 4, 5, 6),
    rooms_per_floor=5,
    residents=5,
)


def tree_rss_mb(root: int) -> float:
    """The summed RSS of ``root`` and its descendants, in MB."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            parent, pages = int(fields[1]), int(fields[21])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
        rss[int(entry.name)] = pages * os.sysconf("SC_PAGE_SIZE")
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo += children.get(pid, [])
    return total / 1e6


def measure(data: Path, out: Path) -> tuple[float, float, str]:
    """Run the cards command; its wall time, peak tree RSS and its summary line."""
    env = {**os.environ, "GATEPASS_LANG": "en"}
    command = [sys.executable, "-m", "server", "cards", "--data", str(data)]
    start = time.perf_counter()
    with subprocess.Popen(
        [*command, "--out", str(out), "--json"], stdout=subprocess.PIPE, text=True, env=env
    ) as proc:
        peak = 0.0
        while proc.poll() is None:
            peak = max(peak, tree_rss_mb(proc.pid))
            time.sleep(0.02)
        summary = proc.stdout.read() if proc.stdout else ""
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"cards exited {proc.returncode}")
    return elapsed, peak, summary.strip().splitlines()[-1]


async def _site(root: Path) -> int:
    settings = load_settings(root / "data", env={}, cookie_secure=False, retention_interval_s=0)
    env = Env(db=Database(settings.db_url), settings=settings, clock=SystemClock())
    try:
        await initialise(
            env, site="bench", name="bench", zones=["east"], admin="admin", root_passphrase=None
        )
        return await build(env, root, LAYOUT)
    finally:
        await env.db.close()


def run() -> list[dict[str, Any]]:
    """Measure and return the table rows."""
    with tempfile.TemporaryDirectory(prefix="gatepass-bench-") as tmp:
        root = Path(tmp)
        (root / "data").mkdir()
        passes = asyncio.run(_site(root))
        elapsed, peak, summary = measure(root / "data", root / "site.pdf")
    return [
        {
            "name": f"cards for the whole site ({passes:,} cards, checklists, one PDF)",
            "value": elapsed,
            "unit": "s",
            "target": "≤ 60 s",
            "baseline": None,
        },
        {
            "name": "peak RSS of the cards command and its QR workers",
            "value": peak,
            "unit": "MB",
            "target": "≤ 500 MB",
            "baseline": summary,
        },
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
