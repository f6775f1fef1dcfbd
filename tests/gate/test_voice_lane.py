"""The lane's voice through the real gate daemon (simulators, mock pins, a real broker): the
simulated speaker hears the measure prompt, the temperature and the result for a grant, the
reason for an expired pass, and the sim control socket's ``said`` counts them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from device.sim.control import SimControl
from device.voice.sim import SimSpeaker
from protocol.reasons import ReasonCode
from protocol.wording import temperature_clips
from tests.gate.conftest import Lane

pytestmark = pytest.mark.broker


def _speaker(lane: Lane) -> SimSpeaker:
    speaker = lane.gate.speaker
    assert isinstance(speaker, SimSpeaker)  # [voice] output defaults to "sim" on a sim lane
    return speaker


async def test_a_grant_is_announced_with_the_temperature(lane_factory: Callable[..., Any]) -> None:
    lane: Lane = await lane_factory()
    speaker = _speaker(lane)
    lane.present(lane.site.pass_text())
    lane.step_in()
    event = await lane.decision()
    assert (event.granted, event.reason) == (True, ReasonCode.OK)
    await lane.until(lambda: "step.granted_normal" in speaker.heard(), 5)
    body = event.temperatures[-1].body_c
    assert speaker.heard() == ["step.measure", *temperature_clips(body), "step.granted_normal"]
    assert all(p.volume_percent == 80 for p in speaker.played)  # the default volume
    control = SimControl(lane.gate.panel, lane.gate.rt.relay, speaker)
    answer = await control.command("said")
    assert answer.split()[0] == "ok"
    assert "step.granted_normal=1" in answer.split()
    assert "step.measure=1" in answer.split()


async def test_an_expired_pass_is_told_why(lane_factory: Callable[..., Any]) -> None:
    lane: Lane = await lane_factory(policy={"voice_volume": 60})
    speaker = _speaker(lane)
    s = lane.site
    lane.present(s.pass_text(expires=s.now - 3600, issued_at=s.now - 7200, not_before=s.now - 7200))
    event = await lane.decision()
    assert (event.granted, event.reason) == (False, ReasonCode.EXPIRED)
    await lane.until(lambda: bool(speaker.played), 5)
    assert speaker.heard() == ["reason.expired"]
    assert speaker.played[-1].volume_percent == 60  # the signed policy's volume
    control = SimControl(lane.gate.panel, lane.gate.rt.relay, speaker)
    assert await control.command("said") == "ok reason.expired=1"
