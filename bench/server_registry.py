"""Server registry: import 5,000 residents, a bulk PDF of 1,600 cards, search p95 beside 1M events.

Everything runs on a temporary SQLite site made by the same services as ``gatepass-server
init``; searches go through the HTTP API (session, CSRF-free GETs, JSON) on the app's lifespan.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from msgspec.structs import replace

from server.app import create_app
from server.clock import SystemClock
from server.config import load_settings
from server.services.context import CLI_ACTOR, Env
from server.services.passes import issuing as passes
from server.services.passes import printing
from server.services.registry.imports import import_residents
from server.services.registry.site import initialise
from server.services.staff.passwords import hash_password
from server.store import accounts
from server.store.db import Database
from tests.server.registers import HEADERS_ZH, SURNAMES, people, write_xlsx

RESIDENTS = 5000
CARDS_HOUSEHOLDS = 400  # four residents each: 1,600 cards
EVENTS = 1_000_000
SEARCHES = 300
PASSWORD = "bench password, long enough"

_EVENTS_SQL = """
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count)
INSERT INTO events
    (event_id, gate, seq, at_ms, kind, granted, reason, pass_ref, body_c, received_at)
SELECT printf('%08x-0000-4000-8000-%012x', i, i), 'gate-' || (i % 6), i,
       (:now - 30 * 86400) * 1000 + i * 2000, 'decision', 1, 'ok', printf('%016x', i % 5000),
       36.0 + (i % 15) / 10.0, :now
FROM n
"""


async def _site(data: Path) -> Env:
    settings = load_settings(data, env={}, cookie_secure=False, retention_interval_s=0)
    env = Env(db=Database(settings.db_url), settings=settings, clock=SystemClock())
    await initialise(
        env, site="bench", name="bench", zones=["east"], admin="admin", root_passphrase=None
    )
    async with env.db.write() as conn:
        admin = await accounts.find_staff(conn, username="admin")
        assert admin is not None
        ready = replace(admin, password_hash=hash_password(PASSWORD), must_change_password=False)
        await accounts.save_staff(conn, ready)
    return env


async def _import_and_print(env: Env, register: Path) -> tuple[float, float, int]:
    start = time.perf_counter()
    report = await import_residents(env, CLI_ACTOR, register)
    import_s = time.perf_counter() - start
    assert report.written, report
    assert report.created == RESIDENTS, report
    households = list(range(1, CARDS_HOUSEHOLDS + 1))
    await passes.issue_households(env, CLI_ACTOR, households)
    start = time.perf_counter()
    _pdf, cards = await printing.sheet(env, CLI_ACTOR, household_ids=households)
    return import_s, time.perf_counter() - start, cards


async def _events(env: Env) -> float:
    start = time.perf_counter()
    async with env.db.write() as conn:
        await conn.execute(sa.text(_EVENTS_SQL), {"count": EVENTS, "now": env.clock.now()})
    return time.perf_counter() - start


def _search_p95(env: Env) -> float:
    app = create_app(env.settings)
    rng = random.Random(5)
    times: list[float] = []
    with TestClient(app, base_url="http://testserver") as client:
        r = client.post("/api/v1/auth/login", json={"username": "admin", "password": PASSWORD})
        assert r.status_code == 200, r.text
        for _ in range(SEARCHES):
            text = rng.choice(SURNAMES) + rng.choice(["", "伟", "芳"])
            params: dict[str, str | int] = {"q": text, "page": rng.randint(1, 3)}
            start = time.perf_counter()
            response = client.get("/api/v1/residents", params=params)
            times.append(time.perf_counter() - start)
            assert response.status_code == 200
    return statistics.quantiles(times, n=20)[-1] * 1000


def run() -> list[dict[str, Any]]:
    """Measure and return the table rows."""
    with tempfile.TemporaryDirectory(prefix="gatepass-bench-") as tmp:
        root = Path(tmp)
        register = write_xlsx(root / "register.xlsx", HEADERS_ZH, people(RESIDENTS))
        (root / "data").mkdir()

        async def prepare() -> tuple[Env, float, float, int, float]:
            env = await _site(root / "data")
            import_s, pdf_s, cards = await _import_and_print(env, register)
            events_s = await _events(env)
            await env.db.close()
            return env, import_s, pdf_s, cards, events_s

        env, import_s, pdf_s, cards, events_s = asyncio.run(prepare())
        p95 = _search_p95(env)
    return [
        {
            "name": f"import {RESIDENTS:,} residents (XLSX, validate + write)",
            "value": import_s,
            "unit": "s",
            "target": "≤ 10 s",
            "baseline": None,
        },
        {
            "name": f"bulk PDF of {cards:,} cards (QR level Q, CJK font)",
            "value": pdf_s,
            "unit": "s",
            "target": "≤ 30 s",
            "baseline": None,
        },
        {
            "name": f"resident search p95 via API ({RESIDENTS:,} residents, {EVENTS:,} events)",
            "value": p95,
            "unit": "ms",
            "target": "≤ 50 ms",
            "baseline": f"1M events inserted in {events_s:.1f} s",
        },
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
