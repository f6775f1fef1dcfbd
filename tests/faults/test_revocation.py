"""A pass revoked on the server is denied by a connected gate within 2 s, and by a gate that was
offline right after it reconnects (the retained full list)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from protocol.errors import PassRevoked
from server.services.context import CLI_ACTOR
from server.services.passes import issuing as passes
from server.services.registry import places as registry
from server.services.registry import residents
from tests.faults.emulator import GateEmulator
from tests.faults.harness import LinkSite, build, running_gates, running_link

pytestmark = [pytest.mark.slow, pytest.mark.broker, pytest.mark.timeout(60)]
WITHIN_S = 2.0


async def issue_pass(site: LinkSite) -> tuple[int, str]:
    env = site.env()
    try:
        household = await registry.save_household(
            env,
            CLI_ACTOR,
            None,
            registry.HouseholdFields(zone_id=1, building="3", unit="2", room="201"),
        )
        resident = await residents.save(
            env,
            CLI_ACTOR,
            None,
            residents.ResidentFields(
                household_id=household.id, name="张三", phone="13800138000", role="owner"
            ),
        )
        row = await passes.issue_resident(env, CLI_ACTOR, resident.id)
    finally:
        await env.db.close()
    return row.id, row.text


async def denied_within(gate: GateEmulator, text: str, seconds: float) -> float:
    """Seconds until the gate's own verification refuses the pass as revoked."""
    start = time.monotonic()
    async with asyncio.timeout(seconds):
        while True:
            gate.applied.clear()
            try:
                gate.verify(text, int(time.time()))
            except PassRevoked:
                return time.monotonic() - start
            await gate.applied.wait()


async def test_revocation_reaches_connected_and_reconnecting_gates(tmp_path: Path) -> None:
    site = await build(tmp_path)
    site.broker.start()
    try:
        async with (
            running_link(site),
            running_gates(site, "east-in", "east-out") as (east_in, east_out),
        ):
            for g in (east_in, east_out):
                await asyncio.wait_for(g.applied.wait(), 10)
            pass_row, text = await issue_pass(site)
            for g in (east_in, east_out):
                assert g.verify(text, int(time.time())).kind.name == "RESIDENT"
            await east_out.stop()  # this lane loses its network
            env = site.env()
            try:
                assert await passes.revoke(env, CLI_ACTOR, [pass_row], "lost card") == 1
            finally:
                await env.db.close()
            assert await denied_within(east_in, text, WITHIN_S) < WITHIN_S
            back = site.gate("east-out")
            await back.start()
            try:
                await asyncio.wait_for(back.link.connected.wait(), 10)
                assert await denied_within(back, text, WITHIN_S) < WITHIN_S
            finally:
                await back.stop()
    finally:
        site.broker.kill()
