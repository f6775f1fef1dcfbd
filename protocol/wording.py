"""The lane's words: one catalog (protocol/wording/zh-CN.toml and en.toml) for the voice clips, the
lane display and the staff console, so a resident hears and reads the same reason the staff see.

Each line has a ``screen`` text (short) and a ``spoken`` sentence; a clip id is the line's key
(``reason.expired``, ``step.measure``, ``staff.override``) and names its WAV file. A temperature
is read out from three clips: the whole degrees, the tenth and the unit (三十六 / 点五 / 度).
"""

from __future__ import annotations

import functools
import math
import tomllib
from dataclasses import dataclass
from importlib import resources

from protocol.reasons import ReasonCode

LANGUAGES = ("zh-CN", "en")
DEFAULT_LANGUAGE = "zh-CN"
SECTIONS = ("reason", "step", "staff")
UNIT = "temperature.unit"
WHOLE_RANGE = range(30, 46)  # whole degrees a clip exists for; anything else is not read out


@dataclass(frozen=True, slots=True)
class Line:
    """One thing the lane says: the short text on the screen and the sentence it speaks."""

    screen: str
    spoken: str


class WordingError(ValueError):
    """A catalog that lacks a line or a language the code asks for."""


def language_of(language: str | None) -> str:
    """A known language, or the default (Chinese)."""
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


@functools.cache
def _table(language: str) -> dict[str, object]:
    if language not in LANGUAGES:
        raise WordingError(f"no catalog for {language!r}")
    path = resources.files("protocol").joinpath("wording", f"{language}.toml")
    return tomllib.loads(path.read_text("utf-8"))


@functools.cache
def lines(language: str) -> dict[str, Line]:
    """Every ``section.name`` line of one language (reasons, steps, staff actions)."""
    table = _table(language)
    out: dict[str, Line] = {}
    for section in SECTIONS:
        entries = table.get(section, {})
        assert isinstance(entries, dict)
        for name, entry in entries.items():
            out[f"{section}.{name}"] = Line(str(entry["screen"]), str(entry["spoken"]))
    return out


def line(key: str, language: str = DEFAULT_LANGUAGE) -> Line:
    """The line ``key`` in ``language``; a missing key is a bug (the catalog test catches it)."""
    try:
        return lines(language_of(language))[key]
    except KeyError:
        raise WordingError(f"no line {key!r} in {language}") from None


def reason_key(code: ReasonCode | str) -> str:
    """The catalog key of a reason code."""
    return f"reason.{ReasonCode(code).value}"


def reason_screen(code: ReasonCode | str, language: str = DEFAULT_LANGUAGE) -> str:
    """The short text of a reason code (the lane display and the staff console)."""
    return line(reason_key(code), language).screen


def temperature_clips(body_c: float) -> tuple[str, ...]:
    """The clip ids that read ``body_c`` out (whole degrees, tenth, unit); () when it has no
    words (not finite, or outside the range any person's reading falls in)."""
    if not math.isfinite(body_c):
        return ()
    tenths = round(body_c * 10)
    whole, tenth = divmod(tenths, 10)
    if whole not in WHOLE_RANGE:
        return ()
    return (f"temperature.whole.{whole}", f"temperature.tenth.{tenth}", UNIT)


@functools.cache
def clip_texts(language: str) -> dict[str, str]:
    """Every clip id of one language and the text it speaks (what the voice renderer reads)."""
    texts = {key: entry.spoken for key, entry in lines(language).items()}
    temperature = _table(language).get("temperature", {})
    assert isinstance(temperature, dict)
    texts[UNIT] = str(temperature["unit"])
    for part in ("whole", "tenth"):
        for number, words in temperature[part].items():
            texts[f"temperature.{part}.{number}"] = str(words)
    return texts


def temperature_label(language: str = DEFAULT_LANGUAGE) -> str:
    """The word for "temperature" on the lane display."""
    temperature = _table(language_of(language)).get("temperature", {})
    assert isinstance(temperature, dict)
    return str(temperature["label"])


DISPLAY_LABELS = ("title", "granted", "denied", "typed", "seconds", "connection_lost")


@functools.cache
def display_labels(language: str = DEFAULT_LANGUAGE) -> dict[str, str]:
    """The lane display's own labels (outcome words, the countdown, the lost-connection banner):
    page text that is not a lane line, so it has no clip. ``seconds`` holds ``{n}``."""
    table = _table(language_of(language)).get("display", {})
    assert isinstance(table, dict)
    missing = [key for key in DISPLAY_LABELS if key not in table]
    if missing:
        raise WordingError(f"no display label {missing} in {language}")
    return {key: str(table[key]) for key in DISPLAY_LABELS}
