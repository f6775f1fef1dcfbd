"""What the lane page shows for one cue: plain data built from the cue and the lane's language,
every word from protocol/wording, so the page itself holds no text and no logic about reasons.

Every outcome has a colour class, a symbol and words: nothing is told by colour alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from device.core.cues import Cue, Phase
from protocol.wording import display_labels, language_of, line, reason_key, temperature_label

DIGITS_ASKED = 4  # the keypad step asks for four digits (phone tail or card PIN: device/lane.py)
NAME_SHOWN_S = 1.0  # a granted resident's name and unit stay on the screen this long
GRANTED, DENIED, NONE = "granted", "denied", "none"
SYMBOLS = {GRANTED: "✓", DENIED: "✗", "alert": "!", "wait": "…"}
ALERT_LINES = {"step.fever_retest", "step.measure_again", "step.wrong_digits"}


@dataclass(frozen=True, slots=True)
class Lane:
    """What the page needs besides the cue: the lane's name and its language now."""

    gate: str
    language: str


def outcome(cue: Cue) -> str:
    """granted, denied, or none (a step or a resting screen)."""
    if cue.phase != Phase.RESULT or cue.granted is None:
        return NONE
    return GRANTED if cue.granted else DENIED


def symbol(cue: Cue) -> str:
    """The symbol beside the colour: ✓ granted or held open, ✗ denied, ! closed or asked again,
    … waiting for the person."""
    result = outcome(cue)
    if result != NONE:
        return SYMBOLS[result]
    if cue.phase == Phase.FREE:
        return SYMBOLS[GRANTED]
    if cue.phase == Phase.CLOSED or cue.line in ALERT_LINES:
        return SYMBOLS["alert"]
    return SYMBOLS["wait"]


def tone(cue: Cue) -> str:
    """The colour class of the page (lane.css): one per kind of screen."""
    result = outcome(cue)
    if result != NONE:
        return result
    if cue.phase == Phase.CLOSED or cue.line in ALERT_LINES:
        return "alert"
    if cue.phase == Phase.FREE:
        return GRANTED
    return "step"


def temperature_text(body_c: float | None) -> str:
    """``36.5 °C`` (tenths rounded as the voice reads them out), or "" without a reading."""
    if body_c is None:
        return ""
    whole, tenth = divmod(round(body_c * 10), 10)
    return f"{whole}.{tenth} °C"


def build(cue: Cue, lane: Lane, seq: int) -> dict[str, Any]:
    """The page's view of ``cue``: every text already in the lane's language."""
    language = language_of(lane.language)
    labels = display_labels(language)
    entry = line(cue.line, language)
    main, spoken = entry.screen, entry.spoken
    result = outcome(cue)
    reason = ""  # a grant's reason ("正常通行") says nothing more than its line
    if cue.reason and result == DENIED:
        reason = line(reason_key(cue.reason), language).screen
    return {
        "seq": seq,
        "phase": cue.phase,
        "tone": tone(cue),
        "text": main,
        "outcome": result,
        "outcome_text": labels[result] if result != NONE else "",
        "symbol": symbol(cue),
        "reason": "" if reason == main else reason,
        # what the voice says, as text too (what to do next): nothing is only heard
        "advice": "" if _same(spoken, main) else spoken,
        "temperature": temperature_text(cue.temperature_c),
        "temperature_label": temperature_label(language) if cue.temperature_c is not None else "",
        "digits": cue.digits if cue.phase == Phase.DIGITS else 0,
        "dots": _dots(cue),
        "wait_s": cue.wait_s if cue.phase in (Phase.DIGITS, Phase.MEASURE) else None,
        "name": (cue.name or "") if result == GRANTED else "",
        "unit": (cue.unit or "") if result == GRANTED else "",
        "name_s": NAME_SHOWN_S,
        "lane": lane.gate,
        "language": language,
        "labels": labels,
    }


def _same(spoken: str, screen: str) -> bool:
    """The spoken sentence says no more than the screen line (punctuation and case aside)."""
    strip = str.maketrans("", "", "\uff0c\u3002,. ")  # full-width and ASCII comma, stop
    return spoken.translate(strip).lower() == screen.translate(strip).lower()


def _dots(cue: Cue) -> str:
    """The digits typed so far as filled dots, the rest as hollow ones (never the digits)."""
    if cue.phase != Phase.DIGITS:
        return ""
    typed = min(cue.digits, DIGITS_ASKED)
    return "●" * typed + "○" * (DIGITS_ASKED - typed)


def encode(view: dict[str, Any]) -> str:
    """The view as one line of JSON (an SSE ``data:`` line holds no newline)."""
    return json.dumps(view, ensure_ascii=False, separators=(",", ":"))
