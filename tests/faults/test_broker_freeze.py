"""A broker that stops answering is noticed within 20 s by the server and by a gate (issue 15
item 4), and everything carries on when it answers again.

The broker is frozen with SIGSTOP (its sockets stay open, nothing answers), as in the fault run
that found a 45 s freeze went unnoticed with 30 s keepalives. With keepalives of 8 s, paho
sends a ping after 8 s of silence and gives up 8 s later: the server's link (in-process, its
live notices are what the dashboard shows) and a real gate daemon both see the link down; the
gate decides offline meanwhile. After SIGCONT both reconnect, log how long the link was down,
and the decision made during the freeze reaches the server marked offline.
"""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from server.services.context import CLI_ACTOR
from server.services.gates import policy as gate_policy
from server.services.live import Hub
from server.services.passes import issuing as passes
from server.services.registry import places as registry
from server.services.registry import residents
from server.store.schema import events
from tests.faults.daemon import Lane
from tests.faults.harness import LinkSite, build, running_link, until

pytestmark = [pytest.mark.slow, pytest.mark.broker, pytest.mark.timeout(150)]
NOTICE_S = 20.0
POLICY = {"temperature_required": False, "phone_check_resident": "never", "apb_minutes": 0}


async def _pass(site: LinkSite) -> str:
    env = site.env()
    try:
        await gate_policy.set_policy(env, CLI_ACTOR, "east-in", POLICY)
        household = await registry.save_household(
            env, CLI_ACTOR, None, registry.HouseholdFields(zone_id=1, building="1", room="101")
        )
        person = await residents.save(
            env,
            CLI_ACTOR,
            None,
            residents.ResidentFields(household_id=household.id, name="陈静", role="family"),
        )
        return (await passes.issue_resident(env, CLI_ACTOR, person.id)).text
    finally:
        await env.db.close()


async def _offline_decisions(site: LinkSite) -> int:
    env = site.env()
    try:
        async with env.db.read() as conn:
            query = sa.select(sa.func.count()).where(
                events.c.gate == "east-in", events.c.offline.is_(True)
            )
            return int((await conn.execute(query)).scalar_one())
    finally:
        await env.db.close()


async def _logged(lane: Lane, text: str, within: float) -> float:
    """The monotonic time at which the gate's log said ``text`` (polled every 0.1 s)."""
    for _ in range(int(within * 10)):
        if any(text in line for line in lane.log):
            return time.monotonic()
        await asyncio.sleep(0.1)
    raise TimeoutError(f"the gate never logged {text!r}")


async def test_a_frozen_broker_is_noticed_within_20_s_and_everything_carries_on(
    tmp_path: Path,
) -> None:
    site = await build(tmp_path)
    text = await _pass(site)
    site.broker.start()
    lane = Lane.from_gate_file(site.gate_file("east-in"), tmp_path / "lanes" / "east-in")
    hub = Hub()
    try:
        async with running_link(site, hub) as link, hub.subscribe() as inbox:
            await asyncio.to_thread(lane.start)
            await asyncio.to_thread(lane.wait_configured)
            process = site.broker.process
            assert process is not None
            process.send_signal(signal.SIGSTOP)
            frozen_at = time.monotonic()
            await until(inbox, lambda n: n == {"type": "link", "up": False}, within=NOTICE_S)
            server_noticed = time.monotonic() - frozen_at
            assert not link.mqtt.state.connected
            gate_noticed = await _logged(lane, "broker link down", NOTICE_S) - frozen_at
            lane.scanner.command(f"present '{text}' 0.3")  # decided offline, kept in the outbox
            await asyncio.sleep(1.0)
            process.send_signal(signal.SIGCONT)
            await until(inbox, lambda n: n == {"type": "link", "up": True}, within=30)
            await _logged(lane, "broker link up after", 30)
            for _ in range(150):  # the decision made during the freeze arrives, offline
                if await _offline_decisions(site) >= 1:
                    break
                await asyncio.sleep(0.2)
            # a failure says what the gate did (seen once in 5 runs, 2026-12-03: not yet explained)
            assert await _offline_decisions(site) >= 1, "gate log:\n" + "\n".join(lane.log[-40:])
    finally:
        if site.broker.process is not None:
            site.broker.process.send_signal(signal.SIGCONT)
        lane.stop()
        site.broker.kill()
    assert server_noticed < NOTICE_S
    assert gate_noticed < NOTICE_S
