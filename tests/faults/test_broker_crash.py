"""M-02 / C2: the broker SIGKILLed three times during a storm from two gates loses nothing.

The broker runs the project's config (it saves every 5 s, so a SIGKILL loses what changed
since); the gates' outboxes and the server's application-level
acks make up for all of it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from server.services.live import Hub
from tests.faults.common import assert_exactly_committed, committed, storming
from tests.faults.harness import build, running_gates, running_link, until

pytestmark = [pytest.mark.slow, pytest.mark.broker, pytest.mark.timeout(120)]
PER_GATE = 400
KILLS = 3


async def test_broker_killed_during_a_storm(tmp_path: Path) -> None:
    site = await build(tmp_path)
    site.broker.start()
    hub = Hub()
    try:
        async with (
            running_link(site, hub) as link,
            hub.subscribe() as inbox,
            running_gates(site, "east-in", "east-out", resend_after_s=2.0) as gates,
            storming(gates, PER_GATE) as producing,
        ):
            for kill in range(1, KILLS + 1):
                await committed(gates, kill * 2 * PER_GATE // (KILLS + 1))
                site.broker.kill()
                site.broker.start()
                await until(inbox, lambda n: n == {"type": "link", "up": True}, within=20)
                for g in gates:  # everyone back before the next kill
                    await asyncio.wait_for(g.link.connected.wait(), 20)
            await producing
            for g in gates:
                await g.drained(60)
            assert link.mqtt.state.connects == KILLS + 1  # it really lost the broker each time
        rows = await assert_exactly_committed(site, gates)
        assert len(rows) == 2 * PER_GATE
    finally:
        site.broker.kill()
