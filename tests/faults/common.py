"""Shared pieces of the fault tests: a paced storm of decisions and the final comparison."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import sqlalchemy as sa

from server.store.schema import events
from server.store.schema_gates import gate_ingest
from tests.faults.emulator import GateEmulator
from tests.faults.harness import LinkSite

STORM_STEP = 4  # decisions per step
STORM_PAUSE_S = 0.01  # the storm's pace (a rate, not a wait for anything)


async def storm(gate: GateEmulator, count: int) -> None:
    """Record ``count`` decisions at a steady pace, whatever the link is doing."""
    for _ in range(count // STORM_STEP):
        await gate.decide(STORM_STEP)
        await asyncio.sleep(STORM_PAUSE_S)


@contextlib.asynccontextmanager
async def storming(gates: list[GateEmulator], per_gate: int) -> AsyncIterator[asyncio.Future[Any]]:
    """The storm as a background future, cancelled if the test leaves early."""
    producing = asyncio.gather(*(storm(g, per_gate) for g in gates))
    try:
        yield producing
    finally:
        producing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await producing


async def committed(gates: list[GateEmulator], at_least: int) -> None:
    """Wait until the gates together recorded ``at_least`` decisions (storm progress)."""
    while sum(len(g.committed) for g in gates) < at_least:
        await asyncio.wait({asyncio.create_task(g.wake.wait()) for g in gates}, timeout=1.0)


async def stored(site: LinkSite) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Every stored event (id order) and each gate's contiguous acked seq."""
    env = site.env()
    try:
        async with env.db.read() as conn:
            rows = [
                dict(r._mapping)
                for r in await conn.execute(sa.select(events).order_by(events.c.id))
            ]
            acked = {r.gate: r.acked_seq for r in await conn.execute(sa.select(gate_ingest))}
    finally:
        await env.db.close()
    return rows, acked


async def assert_exactly_committed(
    site: LinkSite, gates: list[GateEmulator]
) -> list[dict[str, Any]]:
    """The server holds exactly the events the gates committed: none lost, none twice."""
    rows, acked = await stored(site)
    ids = Counter(r["event_id"] for r in rows)
    assert [i for i, n in ids.items() if n > 1] == []
    wanted = {i for g in gates for i in g.committed}
    assert set(ids) == wanted, (len(ids), len(wanted))
    for g in gates:
        assert acked[g.gate] == len(g.committed)
        assert g.store.depth == 0
    return rows
