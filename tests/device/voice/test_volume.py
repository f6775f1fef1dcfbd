"""Which volume the lane speaks at now: the policy's, the quiet volume within quiet hours
(local time, windows that wrap past midnight), and silence at volume 0."""

from __future__ import annotations

import pytest

from device.core.cues import Cue, Phase
from device.voice.listen import Voice, in_window, local_minute, volume_now
from device.voice.sim import SimSpeaker
from protocol.messages import Policy

MIDNIGHT_UTC = 1_764_720_000.0  # 2025-12-03 00:00 UTC


def at_local(hour: int, minute: int = 0, offset: int = 480) -> float:
    """A wall time whose local clock (UTC + offset minutes) reads hour:minute."""
    return MIDNIGHT_UTC + (hour * 60 + minute - offset) * 60


def test_local_minute_follows_the_offset() -> None:
    assert local_minute(int(at_local(22, 30)), 480) == 22 * 60 + 30
    assert local_minute(int(at_local(0, 5, offset=-300)), -300) == 5


@pytest.mark.parametrize(
    ("minute", "start", "end", "inside"),
    [
        (600, 540, 720, True),
        (720, 540, 720, False),  # the end is outside
        (1380, 1320, 360, True),  # 23:00 in 22:00-06:00
        (120, 1320, 360, True),  # 02:00
        (360, 1320, 360, False),  # 06:00
        (720, 1320, 360, False),  # noon
    ],
)
def test_windows_may_wrap_past_midnight(minute: int, start: int, end: int, inside: bool) -> None:
    assert in_window(minute, start, end) is inside


def test_quiet_hours_lower_the_volume() -> None:
    policy = Policy(voice_volume=90, quiet_hours=[(1320, 360)], quiet_volume=20)
    assert volume_now(policy, at_local(12)) == 90
    assert volume_now(policy, at_local(23, 30)) == 20
    assert volume_now(policy, at_local(5, 59)) == 20
    assert volume_now(policy, at_local(6)) == 90


def test_defaults_without_settings() -> None:
    assert volume_now(Policy(), at_local(3)) == 80  # no quiet hours unless set


SAY = Cue(Phase.READY, "step.scan", ("step.scan",))


async def test_the_listener_speaks_at_the_quiet_volume() -> None:
    speaker = SimSpeaker()
    policy = Policy(voice_volume=90, quiet_hours=[(1320, 360)], quiet_volume=25)
    Voice(speaker, lambda: policy, lambda: at_local(23))(SAY)
    assert [(p.clips, p.volume_percent) for p in speaker.played] == [(("step.scan",), 25)]


async def test_volume_zero_says_nothing() -> None:
    speaker = SimSpeaker()
    policy = Policy(quiet_hours=[(1320, 360)], quiet_volume=0)
    voice = Voice(speaker, lambda: policy, lambda: at_local(1))
    voice(SAY)
    assert not speaker.played
    Voice(speaker, lambda: Policy(voice_volume=0), lambda: at_local(12))(SAY)
    assert not speaker.played


async def test_a_cue_without_speech_does_not_cut_the_prompt() -> None:
    speaker = SimSpeaker()
    voice = Voice(speaker, Policy, lambda: at_local(12))
    voice(SAY)
    voice(Cue(Phase.DIGITS, "step.phone_digits", (), digits=2))
    assert [p.ended for p in speaker.played] == ["playing"]
