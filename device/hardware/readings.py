"""Turning raw temperatures into a ``Reading`` or an explicit ``ReadingError`` (pure).

Every driver and fake goes through ``make_reading`` so that NaN, infinities and values outside
the sensor's physical range can never become a reading, and the body estimate is always
exactly ``object + offset``. Stuck-value detection lives here too.
"""

from __future__ import annotations

import math

from device.ports import Reading, ReadingError, ReadingFault

OBJECT_RANGE_C = (-70.0, 380.0)
AMBIENT_RANGE_C = (-40.0, 125.0)
OFFSET_RANGE_C = (-10.0, 10.0)


def make_reading(
    object_c: float,
    ambient_c: float,
    *,
    offset_c: float,
    at: float,
    model: str,
    raw: bytes = b"",
    object_range: tuple[float, float] = OBJECT_RANGE_C,
    ambient_range: tuple[float, float] = AMBIENT_RANGE_C,
) -> Reading | ReadingError:
    """A reading when both values are finite and physically possible, else the fault."""
    if not all(math.isfinite(v) for v in (object_c, ambient_c, offset_c)):
        return ReadingError(ReadingFault.NOT_FINITE, "non-finite value", at, raw)
    if not object_range[0] <= object_c <= object_range[1]:
        return ReadingError(ReadingFault.OUT_OF_RANGE, f"object {object_c:.2f} C", at, raw)
    if not ambient_range[0] <= ambient_c <= ambient_range[1]:
        return ReadingError(ReadingFault.OUT_OF_RANGE, f"ambient {ambient_c:.2f} C", at, raw)
    return Reading(
        object_c=object_c,
        ambient_c=ambient_c,
        offset_c=offset_c,
        body_c=round(object_c + offset_c, 4),
        at=at,
        model=model,
        raw=raw,
    )


def check_offset(offset_c: float) -> float:
    """Validate a configured distance offset (finite, within +-10 C) and return it."""
    if not math.isfinite(offset_c) or not OFFSET_RANGE_C[0] <= offset_c <= OFFSET_RANGE_C[1]:
        raise ValueError(f"offset {offset_c!r} C is not within {OFFSET_RANGE_C}")
    return offset_c


class StuckDetector:
    """Flags a sensor whose raw values have not changed at all for ``after`` seconds."""

    def __init__(self, after: float | None) -> None:
        self._after = after
        self._value: object = None
        self._since = 0.0

    def is_stuck(self, value: object, now: float) -> bool:
        """True when ``value`` equals every value seen over the last ``after`` seconds."""
        if value != self._value:
            self._value, self._since = value, now
            return False
        return self._after is not None and now - self._since >= self._after
