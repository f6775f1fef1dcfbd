"""Lane rules saved as the policy pages save them reach the lanes (issue 17 item 6): a zone's
rule reaches every lane of the zone in a new signed config version, a lane's own rule only
that lane, weekly hours included (real broker, the link, emulated gates)."""

from __future__ import annotations

import asyncio

import pytest

from protocol.messages import GateConfig, PhoneCheck
from server.services.context import CLI_ACTOR
from server.services.gates import policy_edit as edit
from tests.faults.emulator import GateEmulator
from tests.faults.harness import LinkSite, running_gates, running_link

pytestmark = pytest.mark.broker


async def newer(gate: GateEmulator, than: int) -> GateConfig:
    """The gate's applied config once its version passes ``than`` (retained copies may come
    again first)."""
    async with asyncio.timeout(10):
        while (config := gate.trust.applied.config) is None or config.version <= than:
            gate.configured.clear()
            await gate.configured.wait()
    return config


async def test_zone_and_lane_rules_reach_the_lanes(link_site: LinkSite) -> None:
    async with (
        running_link(link_site),
        running_gates(link_site, "east-in", "east-out") as (east_in, east_out),
    ):
        first = [(await newer(g, 0)).version for g in (east_in, east_out)]
        env = link_site.env()
        try:
            zone = await edit.zone_target(env, CLI_ACTOR, 1)
            form = {
                "phone_check_resident": "always",
                "fever_threshold_c": "37.0",
                "day6": "08:00-12:00",
            }
            await edit.save(env, CLI_ACTOR, zone, edit.parse_form(form), seen=zone.seen)
            got = [await newer(g, v) for g, v in zip((east_in, east_out), first, strict=True)]
            for config in got:
                assert config.policy.phone_check_resident == PhoneCheck.ALWAYS
                assert config.policy.fever_threshold_c == 37.0
                assert config.policy.weekday_list == [(6, 480, 720)]
            lane = await edit.lane_target(env, CLI_ACTOR, "east-in")
            mine = edit.parse_form({"apb_minutes": "2", "closed6": "on"})
            await edit.save(env, CLI_ACTOR, lane, mine, seen=lane.seen)
            mine_now = await newer(east_in, got[0].version)
        finally:
            await env.db.close()
        assert (mine_now.policy.apb_minutes, mine_now.policy.weekday_list) == (2, [(6, 0, 0)])
        assert mine_now.policy.phone_check_resident == PhoneCheck.ALWAYS  # still the zone's
        await asyncio.sleep(1.5)  # two of the link's rounds: east-out gets nothing new
        config = east_out.trust.applied.config
        assert config is not None
        assert config.version == got[1].version
        assert config.policy.apb_minutes == 10
