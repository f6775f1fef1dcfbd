"""Every reason code's denial speaks its own clip through the voice listener, and that clip is
in the set the renderer writes; a temperature is read out as whole degrees, tenth and unit."""

from __future__ import annotations

import pytest

from device.core.cues import for_decision
from device.core.model import Decision, Outcome, ScanAttempt, Signal, Temperature
from device.voice.listen import Voice
from device.voice.sim import SimSpeaker
from protocol.errors import PassError
from protocol.messages import Policy
from protocol.reasons import ReasonCode
from protocol.wording import LANGUAGES, clip_texts, temperature_clips

NOON_UTC = 1_764_763_200.0  # 2025-12-03 12:00 UTC, 20:00 in Beijing


def _voice(speaker: SimSpeaker, policy: Policy | None = None) -> Voice:
    return Voice(speaker, lambda: policy or Policy(), lambda: NOON_UTC)


@pytest.mark.parametrize("code", list(ReasonCode), ids=lambda c: c.value)
async def test_a_denial_speaks_its_reason(code: ReasonCode) -> None:
    speaker = SimSpeaker()
    decision = Decision(Outcome.DENY, code, Signal.DENIED)
    attempt = ScanAttempt(PassError("test"))
    _voice(speaker)(for_decision(decision, attempt, Policy()))
    assert speaker.heard() == [f"reason.{code.value}"]
    assert speaker.played[-1].volume_percent == Policy().volume
    for language in LANGUAGES:
        assert f"reason.{code.value}" in clip_texts(language)


def test_temperature_is_read_out_in_three_clips() -> None:
    assert temperature_clips(36.5) == (
        "temperature.whole.36",
        "temperature.tenth.5",
        "temperature.unit",
    )
    assert temperature_clips(36.96) == (
        "temperature.whole.37",
        "temperature.tenth.0",
        "temperature.unit",
    )
    assert temperature_clips(float("nan")) == ()
    assert (
        clip_texts("zh-CN")["temperature.whole.36"]
        + clip_texts("zh-CN")["temperature.tenth.5"]
        + clip_texts("zh-CN")["temperature.unit"]
        == "三十六点五度"
    )
    for language in LANGUAGES:
        assert set(temperature_clips(36.5)) <= set(clip_texts(language))


async def test_a_grant_with_a_temperature_speaks_it_then_the_result() -> None:
    speaker = SimSpeaker()
    decision = Decision(Outcome.GRANT, ReasonCode.OK, Signal.GRANTED, open_ms=3000)
    attempt = ScanAttempt(PassError("test"), temperatures=(Temperature(34.2, 22.0, 2.3, 36.5),))
    _voice(speaker)(for_decision(decision, attempt, Policy()))
    assert speaker.heard() == [
        "temperature.whole.36",
        "temperature.tenth.5",
        "temperature.unit",
        "step.granted_normal",
    ]
