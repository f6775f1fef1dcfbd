"""Server daily report (issue 17 item 7): the page of a day of 100,000 events.

A fresh two-zone site (made by the same services as ``gatepass-server init``) gets four lanes
through the HTTP API (an entry and an exit lane per zone), then 100,000 events spread over one
local day (one every 0.864 s, in turn on each lane: granted passages, one in 20 a fever
refusal, one in 50 an override with a reason, one in 10 a visitor's pass) and a few on the
days either side. The admin's ``GET /ui/reports/daily?day=...`` is timed end to end through
the app (session, the report's queries, the charts, the HTML), first once cold, then the
median of five; the same page for an empty day is the baseline.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from msgspec.structs import replace

from server.app import create_app
from server.clock import SystemClock
from server.config import ServerSettings, load_settings
from server.services.context import Env
from server.services.registry.site import initialise
from server.services.staff.passwords import hash_password
from server.store import accounts
from server.store.db import Database

EVENTS = 100_000
RUNS = 5
PASSWORD = "bench password, long enough"
DAY = "2026-11-05"
DAY_START = int(dt.datetime(2026, 11, 5, tzinfo=dt.timezone(dt.timedelta(hours=8))).timestamp())
LANES = (("east-in", 1, "in"), ("east-out", 1, "out"), ("west-in", 2, "in"), ("west-out", 2, "out"))

_EVENTS_SQL = """
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < :count - 1)
INSERT INTO events
    (event_id, gate, seq, at_ms, kind, granted, reason, pass_ref, holder_kind, note, received_at)
SELECT printf('%08x-0000-4000-8000-%012x', i, i),
       CASE i % 4 WHEN 0 THEN 'east-in' WHEN 1 THEN 'east-out' WHEN 2 THEN 'west-in'
                  ELSE 'west-out' END,
       i, :start * 1000 + i * 864, 'decision',
       CASE WHEN i % 20 = 0 THEN 0 ELSE 1 END,
       CASE WHEN i % 20 = 0 THEN 'fever' WHEN i % 50 = 1 THEN 'override' ELSE 'ok' END,
       printf('%016x', i % 5000),
       CASE WHEN i % 10 = 3 THEN 'visitor' ELSE 'resident' END,
       CASE WHEN i % 50 = 1 THEN 'no_smartphone: bench' END,
       :start
FROM n
"""


async def _site(data: Path) -> ServerSettings:
    settings = load_settings(data, env={}, cookie_secure=False, retention_interval_s=0)
    env = Env(db=Database(settings.db_url), settings=settings, clock=SystemClock())
    try:
        await initialise(
            env,
            site="bench",
            name="bench",
            zones=["east", "west"],
            admin="admin",
            root_passphrase=None,
        )
        async with env.db.write() as conn:
            admin = await accounts.find_staff(conn, username="admin")
            assert admin is not None
            ready = replace(
                admin, password_hash=hash_password(PASSWORD), must_change_password=False
            )
            await accounts.save_staff(conn, ready)
    finally:
        await env.db.close()
    return settings


def _events(db_file: Path) -> float:
    start = time.perf_counter()
    with sqlite3.connect(db_file) as db:
        db.execute(_EVENTS_SQL, {"count": EVENTS, "start": DAY_START})
        edges = [
            (f"edge-{k}", at)
            for k, at in enumerate((DAY_START * 1000 - 1, (DAY_START + 86400) * 1000))
        ]
        db.executemany(
            "INSERT INTO events (event_id, gate, seq, at_ms, kind, granted, reason, received_at) "
            "VALUES (?, 'east-in', ?, ?, 'decision', 1, 'ok', 0)",
            [(e, EVENTS + k, at) for k, (e, at) in enumerate(edges)],
        )
    return time.perf_counter() - start


def _time_page(client: TestClient, day: str) -> tuple[float, float, str]:
    times = []
    html = ""
    for _ in range(RUNS + 1):
        start = time.perf_counter()
        response = client.get("/ui/reports/daily", params={"day": day})
        times.append(time.perf_counter() - start)
        assert response.status_code == 200, response.text[:500]
        html = response.text
    return times[0], statistics.median(times[1:]), html


def _measure(settings: ServerSettings) -> dict[str, float]:
    app = create_app(settings)
    with TestClient(app, base_url="http://testserver") as client:
        r = client.post("/api/v1/auth/login", json={"username": "admin", "password": PASSWORD})
        assert r.status_code == 200, r.text
        csrf = {"X-CSRF-Token": r.json()["csrf_token"]}
        for gate, zone, direction in LANES:
            lane = {"id": gate, "zone_id": zone, "name": gate, "direction": direction}
            created = client.post("/api/v1/gates", json=lane, headers=csrf)
            assert created.status_code == 201, created.text
        insert_s = _events(settings.data_dir / "registry.db")
        _, empty_s, _ = _time_page(client, "2026-11-01")
        cold_s, warm_s, html = _time_page(client, DAY)
    entries, exits = EVENTS // 2 - EVENTS // 20, EVENTS // 2  # fever refusals are on entry lanes
    assert f"进入 {entries} 人次" in html, "the report miscounted the entries"
    assert f"离开 {exits} 人次" in html, "the report miscounted the exits"
    return {"insert": insert_s, "cold": cold_s, "warm": warm_s, "empty": empty_s}


def run() -> list[dict[str, Any]]:
    """Measure and return the table rows."""
    with tempfile.TemporaryDirectory(prefix="gatepass-bench-") as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        settings = asyncio.run(_site(data))
        found = _measure(settings)
    return [
        {
            "name": f"daily report page, a day of {EVENTS:,} events (HTML, median of {RUNS})",
            "value": found["warm"],
            "unit": "s",
            "target": "≤ 2 s",
            "baseline": (
                f"first request {found['cold']:.2f} s; an empty day {found['empty']:.3f} s; "
                f"events inserted in {found['insert']:.1f} s"
            ),
        }
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
