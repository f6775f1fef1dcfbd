"""A gate whose event store cannot grow keeps deciding (issue 15 item 7, the gate's half).

The store's writer connection is held at its size with SQLite's page limit, which fails a
growing write with "database or disk is full" as a full SD card does. The lane still decides
and opens for each resident, its status shows the store as faulty, nothing already stored is
lost, and once there is room again every decision made meanwhile is committed and reaches the
server, each once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from device import watchers
from device.runtime import STORE
from protocol.messages import DeviceState
from protocol.reasons import ReasonCode
from tests.gate.conftest import Lane

pytestmark = pytest.mark.broker
POLICY = {"temperature_required": False, "phone_check_resident": "never"}


async def _limit(lane: Lane, pages: int | None) -> None:
    """Hold the store's writer at ``pages`` pages (None: its current size), or lift it."""
    store = lane.gate.rt.store
    if pages is None:
        await store.run(lambda c: c.execute("VACUUM"))  # no free pages left to reuse
        pages = await store.run(lambda c: c.execute("PRAGMA page_count").fetchone()[0])
    await store.run(lambda c: c.execute(f"PRAGMA max_page_count = {pages}"))


async def test_a_full_store_still_decides_opens_and_commits_later(
    lane_factory: Callable[..., Any],
) -> None:
    lane: Lane = await lane_factory(policy=POLICY)
    rt = lane.gate.rt
    lane.present(lane.site.pass_text())
    before = await lane.decision()
    assert before.granted
    await lane.until(lambda: rt.store.depth == 0)  # acked: stored on the server
    lane.server.ack = False  # rows stay in the outbox: the store must grow
    await _limit(lane, None)
    decided = []
    for _ in range(20):  # the last page's room takes a few before the store is really full
        lane.present(lane.site.pass_text())
        opened = rt.relay.opened
        await lane.until(lambda opened=opened: rt.relay.opened == opened + 1)
        decided.append(rt.relay.opened)
        if rt.held:
            break
    assert rt.held, "the store never filled"
    assert rt.health[STORE][0] == DeviceState.FAULT
    assert "full" in rt.health[STORE][1]
    await _limit(lane, 2**30)
    lane.server.ack = True
    await watchers.upkeep(rt)
    assert not rt.held
    assert STORE not in rt.health
    got = [await lane.decision() for _ in decided]
    assert all((e.granted, e.reason) == (True, ReasonCode.OK) for e in got)
    assert len({e.event_id for e in got}) == len(got)
    await lane.until(lambda: rt.store.depth == 0)
