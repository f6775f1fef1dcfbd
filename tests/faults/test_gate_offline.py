"""C4 (the gates' network cut by stopping the broker): gates decide offline for a backlog, then
everything arrives once, in order, with the offline flag set on what was decided offline."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.faults.common import assert_exactly_committed
from tests.faults.harness import build, running_gates, running_link

pytestmark = [pytest.mark.slow, pytest.mark.broker, pytest.mark.timeout(120)]
BACKLOG = 250


async def test_offline_backlog_arrives_in_order_with_the_offline_flag(tmp_path: Path) -> None:
    site = await build(tmp_path)
    site.broker.start()
    try:
        async with (
            running_link(site),
            running_gates(site, "east-in", "east-out") as gates,
        ):
            for g in gates:
                await g.decide(5)  # online first
                await g.drained()
            site.broker.stop()  # the gates' network is gone
            for g in gates:
                while g.link.connected.is_set():
                    await asyncio.wait_for(g.link.changes.get(), 10)
                await g.decide(BACKLOG)
                assert g.store.depth == BACKLOG
            site.broker.start()
            for g in gates:
                await g.drained(60)
        rows = await assert_exactly_committed(site, gates)
        for g in gates:
            mine = [r for r in rows if r["gate"] == g.gate]
            assert [r["seq"] for r in mine] == list(range(1, BACKLOG + 6))  # in order of arrival
            assert [r["offline"] for r in mine] == [False] * 5 + [True] * BACKLOG
    finally:
        site.broker.kill()
