"""The lane page's view of each cue: every phase and every reason code has its words (from the
catalog, in the lane's language), a symbol and an outcome word; nothing is told by colour alone."""

from __future__ import annotations

import pytest

from device.core.cues import Cue, Phase, mode_changed, ready
from device.display import view
from protocol.messages import Mode
from protocol.reasons import ReasonCode
from protocol.wording import LANGUAGES, display_labels, line, reason_screen

LANE = view.Lane("east-in", "zh-CN")
STEPS = {
    Phase.READY: Cue(Phase.READY, "step.scan"),
    Phase.DIGITS: Cue(Phase.DIGITS, "step.phone_digits", wait_s=20, digits=2),
    Phase.MEASURE: Cue(Phase.MEASURE, "step.measure", wait_s=20),
    Phase.CLOSED: Cue(Phase.CLOSED, "step.closed"),
    Phase.FREE: Cue(Phase.FREE, "step.free"),
}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("phase", list(STEPS))
def test_every_step_shows_its_line_a_symbol_and_no_outcome(phase: str, language: str) -> None:
    cue = STEPS[phase]
    shown = view.build(cue, view.Lane("east-in", language), 7)
    assert shown["phase"] == phase
    assert shown["text"] == line(cue.line, language).screen
    assert shown["symbol"] in view.SYMBOLS.values()
    assert shown["outcome"] == view.NONE
    assert shown["outcome_text"] == ""
    assert shown["language"] == language
    assert shown["lane"] == "east-in"
    assert shown["seq"] == 7
    assert shown["labels"] == display_labels(language)
    assert shown["name"] == ""
    assert shown["temperature"] == ""


def test_the_countdown_is_for_steps_only() -> None:
    assert view.build(STEPS[Phase.DIGITS], LANE, 1)["wait_s"] == 20
    assert view.build(STEPS[Phase.MEASURE], LANE, 1)["wait_s"] == 20
    assert view.build(STEPS[Phase.READY], LANE, 1)["wait_s"] is None
    result = Cue(Phase.RESULT, "reason.expired", granted=False, reason="expired", wait_s=20)
    assert view.build(result, LANE, 1)["wait_s"] is None


def test_digits_typed_are_dots_never_digits() -> None:
    for typed, dots in ((0, "○○○○"), (1, "●○○○"), (3, "●●●○"), (4, "●●●●")):
        cue = Cue(Phase.DIGITS, "step.card_pin", wait_s=20, digits=typed)
        shown = view.build(cue, LANE, 1)
        assert shown["dots"] == dots
        assert shown["digits"] == typed
    assert view.build(STEPS[Phase.MEASURE], LANE, 1)["dots"] == ""


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("code", list(ReasonCode))
def test_every_reason_code_has_its_screen_line_symbol_and_outcome_word(
    code: ReasonCode, language: str
) -> None:
    lane = view.Lane("east-in", language)
    for granted in (True, False):
        key = f"reason.{code.value}"
        shown = view.build(Cue(Phase.RESULT, key, granted=granted, reason=code.value), lane, 1)
        assert shown["text"] == reason_screen(code, language) != ""
        assert shown["symbol"] == ("✓" if granted else "✗")
        assert shown["tone"] == shown["outcome"] == ("granted" if granted else "denied")
        word = display_labels(language)["granted" if granted else "denied"]
        assert shown["outcome_text"] == word != ""
        assert shown["reason"] == ""  # the main line is the reason already
        spoken = line(key, language).spoken  # what the voice says is on the screen too
        assert spoken in (shown["advice"], shown["text"]) or view._same(spoken, shown["text"])


def test_a_granted_resident_shows_temperature_name_and_unit() -> None:
    cue = Cue(
        Phase.RESULT,
        "step.granted_normal",
        granted=True,
        reason="ok",
        temperature_c=36.54,
        name="张*",
        unit="3-2-201",
    )
    shown = view.build(cue, LANE, 1)
    assert shown["text"] == "体温正常，请通行"
    assert shown["reason"] == ""  # 正常通行 would say nothing more
    assert shown["advice"] == ""  # the voice says just what the screen says
    assert shown["temperature"] == "36.5 °C"
    assert shown["temperature_label"] == "体温"
    assert (shown["name"], shown["unit"], shown["name_s"]) == ("张*", "3-2-201", 1.0)


def test_a_denied_person_never_has_a_name_shown() -> None:
    cue = Cue(Phase.RESULT, "reason.fever", granted=False, reason="fever", name="张*", unit="3")
    shown = view.build(cue, LANE, 1)
    assert shown["name"] == shown["unit"] == ""


def test_asked_again_and_closed_screens_are_alerts_with_a_symbol() -> None:
    retest = Cue(Phase.MEASURE, "step.fever_retest", temperature_c=37.9, wait_s=4)
    shown = view.build(retest, LANE, 1)
    assert (shown["symbol"], shown["tone"], shown["temperature"]) == ("!", "alert", "37.9 °C")
    for mode in (Mode.LOCKDOWN, Mode.MAINTENANCE):
        closed = view.build(mode_changed(mode), LANE, 1)
        assert (closed["symbol"], closed["tone"], closed["phase"]) == ("!", "alert", "closed")
    free = view.build(ready(Mode.FREE_PASSAGE), LANE, 1)
    assert (free["symbol"], free["tone"]) == ("✓", "granted")


def test_every_tone_has_a_symbol_so_colour_is_never_alone() -> None:
    cues = [*STEPS.values(), Cue(Phase.MEASURE, "step.measure_again", wait_s=4)]
    cues += [Cue(Phase.RESULT, "reason.ok", granted=g, reason="ok") for g in (True, False)]
    for cue in cues:
        shown = view.build(cue, LANE, 1)
        assert shown["symbol"], cue
        assert shown["text"], cue


def test_an_unknown_language_falls_back_to_chinese_and_the_encoding_is_one_line() -> None:
    shown = view.build(STEPS[Phase.READY], view.Lane("east-in", "fr"), 1)
    assert shown["language"] == "zh-CN"
    encoded = view.encode(shown)
    assert "\n" not in encoded
    assert "请出示通行证" in encoded


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_display_labels_exist_in_every_language(language: str) -> None:
    labels = display_labels(language)
    assert all(labels[key] for key in labels)
    assert "{n}" in labels["seconds"]
