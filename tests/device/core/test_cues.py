"""What the lane says and shows for each answer of the pure core (issue 18): the steps it asks
for, the result with its reason and temperature, a granted resident's masked name, the modes;
and the announcer that hands cues to the voice and the display without letting either block."""

from __future__ import annotations

import asyncio

import pytest

from device.announce import Announcer
from device.core import cues
from device.core.cues import Cue, Phase
from device.core.decision import decide
from device.core.model import Decision, Outcome, ScanAttempt, Signal
from device.core.state import GateState
from protocol.claims import PassKind
from protocol.messages import Mode, PhoneCheck
from protocol.reasons import ReasonCode
from protocol.wording import clip_texts, line
from tests.device.core.test_decide import NOW, claims, lane, policy
from tests.device.core.test_decide import r as temp

POLICY = policy(phone_check_resident=PhoneCheck.NEVER)


def _cue(attempt: ScanAttempt, **lane_changes: object) -> Cue:
    chosen = lane(**lane_changes)
    decision, _ = decide(attempt, GateState(), chosen, NOW)
    return cues.for_decision(decision, attempt, chosen.policy)


def test_a_resident_is_asked_to_measure_then_hears_the_temperature_and_may_go() -> None:
    first = _cue(ScanAttempt(result=claims(name="张*明", unit="3-2-301")))
    assert (first.phase, first.line, first.speech) == (
        Phase.MEASURE,
        "step.measure",
        ("step.measure",),
    )
    assert first.wait_s == POLICY.step_timeout_s
    done = _cue(
        ScanAttempt(result=claims(name="张*明", unit="3-2-301"), temperatures=(temp(36.54),))
    )
    assert (done.phase, done.granted, done.reason) == (Phase.RESULT, True, "ok")
    assert done.speech == ("temperature.whole.36", "temperature.tenth.5", "temperature.unit",
                           "step.granted_normal")  # fmt: skip
    assert (done.name, done.unit, done.temperature_c) == ("张*明", "3-2-301", 36.54)


def test_a_fever_is_said_with_its_temperature_and_a_retest_first() -> None:
    retest = _cue(ScanAttempt(result=claims(), temperatures=(temp(38.2),)))
    assert (retest.phase, retest.line) == (Phase.MEASURE, "step.fever_retest")
    assert retest.speech[:2] == ("temperature.whole.38", "temperature.tenth.2")
    refused = _cue(ScanAttempt(result=claims(), temperatures=(temp(38.2), temp(38.4))))
    assert (refused.granted, refused.line) == (False, "reason.fever")
    assert refused.speech[-1] == "reason.fever"
    assert (refused.name, refused.unit) == (None, None)  # nobody's name on a refusal


def test_an_implausible_reading_asks_to_measure_again_without_reading_it_out() -> None:
    again = _cue(ScanAttempt(result=claims(), temperatures=(temp(29.0),)))
    assert (again.line, again.speech, again.temperature_c) == (
        "step.measure_again", ("step.measure_again",), None)  # fmt: skip


def test_digits_are_asked_for_by_name_and_a_wrong_try_says_so() -> None:
    always = policy(phone_check_resident=PhoneCheck.ALWAYS)
    asked = _cue(ScanAttempt(result=claims()), policy=always)
    assert (asked.phase, asked.line) == (Phase.DIGITS, "step.phone_digits")
    wrong = _cue(ScanAttempt(result=claims(), digits=("0000",)), policy=always)
    assert (wrong.phase, wrong.line, wrong.speech) == (
        Phase.DIGITS, "step.wrong_digits", ("step.wrong_digits",))  # fmt: skip


def test_a_visitor_or_staff_grant_shows_no_name() -> None:
    staff = _cue(ScanAttempt(result=claims(PassKind.STAFF, name="李*"), temperatures=(temp(36.6),)))
    assert staff.granted is True
    assert (staff.name, staff.unit) == (None, None)


@pytest.mark.parametrize("code", list(ReasonCode))
def test_every_reason_has_words_on_screen_and_a_clip_when_refused(code: ReasonCode) -> None:
    decision = Decision(Outcome.DENY, code, Signal.DENIED)
    cue = cues.for_decision(decision, ScanAttempt(result=claims()), POLICY)
    assert cue.line == f"reason.{code.value}"
    assert cue.speech[-1] == cue.line
    for language in ("zh-CN", "en"):
        assert line(cue.line, language).screen
        assert cue.line in clip_texts(language)


def test_overrides_and_modes() -> None:
    opened = cues.for_override(Decision(Outcome.GRANT, ReasonCode.OVERRIDE, Signal.GRANTED, 3000))
    assert (opened.line, opened.speech, opened.granted) == (
        "staff.override",
        ("staff.override",),
        True,
    )
    refused = cues.for_override(Decision(Outcome.DENY, ReasonCode.FEVER, Signal.FEVER))
    assert (refused.line, refused.granted) == ("staff.override_refused", False)
    assert cues.ready(Mode.LOCKDOWN).phase == Phase.CLOSED
    assert cues.ready(Mode.FREE_PASSAGE).phase == Phase.FREE
    assert cues.mode_changed(Mode.MAINTENANCE).speech == ("step.maintenance",)
    assert cues.mode_changed(Mode.NORMAL).speech == ()


async def test_the_announcer_fans_out_goes_back_to_rest_and_survives_a_broken_listener() -> None:
    heard: list[Cue] = []
    announcer = Announcer(hold_s=0.05)

    def broken(cue: Cue) -> None:
        raise OSError("speaker unplugged")

    announcer.listen(broken)
    announcer.listen(heard.append)
    result = Cue(Phase.RESULT, "reason.expired", ("reason.expired",), granted=False)
    announcer.tell(result)
    assert heard == []  # the outputs run on the loop's next turn, after the relay's task
    await asyncio.sleep(0)
    assert heard == [result]  # the broken listener did not stop the next one
    await asyncio.sleep(0.2)
    assert heard[-1].phase == Phase.READY  # back to "show your pass" by itself
    assert announcer.said["reason.expired"] == 1


async def test_dots_follow_the_typing_and_a_mode_change_is_announced_once() -> None:
    heard: list[Cue] = []
    announcer = Announcer()
    announcer.listen(heard.append)
    announcer.tell(Cue(Phase.DIGITS, "step.phone_digits", ("step.phone_digits",), wait_s=20))
    announcer.typed(1)
    announcer.typed(1)  # no change, nothing sent
    announcer.typed(2)
    await asyncio.sleep(0)
    assert [c.digits for c in heard] == [0, 1, 2]
    assert heard[-1].speech == ()  # typing is silent
    announcer.set_mode(Mode.NORMAL)  # at start: no change, no words
    announcer.set_mode(Mode.LOCKDOWN)
    announcer.set_mode(Mode.LOCKDOWN)
    await asyncio.sleep(0)
    assert [c.line for c in heard].count("step.closed") == 1
    assert heard[-1].speech == ("step.closed",)
