"""The order an office hands cards out in: building, unit, floor, room, each compared the way a
person reads it ("2号楼" before "10号楼", room 101 before 102 before 1001), not as text.

A label is split into runs of digits and of other characters; digit runs compare as numbers,
the rest as text. The floor is read from the room number: its digits without the last two
(1001 and B-1203 are on floors 10 and 12, 101 on floor 1; a room of one or two digits is on
floor 0, a room without digits sorts by its text).
"""

from __future__ import annotations

import re
import unicodedata

_DIGITS = re.compile(r"(\d+)")

NaturalKey = tuple[tuple[int, int, str], ...]


def natural_key(label: str | None) -> NaturalKey:
    """A sort key that orders digit runs numerically: ``"2号楼" < "10号楼"``, ``"A座" < "B座"``.

    Full-width digits (``１０号楼``) count as digits; each part carries its text so that labels
    equal as numbers (``"01"`` and ``"1"``) still have one order."""
    text = unicodedata.normalize("NFKC", label or "")
    parts: list[tuple[int, int, str]] = []
    for i, part in enumerate(_DIGITS.split(text)):
        if not part:
            continue
        if i % 2:  # a run of digits
            parts.append((0, int(part), part))
        else:
            parts.append((1, 0, part.casefold()))
    return tuple(parts)


def floor_of(room: str | None) -> int:
    """The floor a room is on: its last run of digits without the last two (1203 -> 12)."""
    runs = _DIGITS.findall(unicodedata.normalize("NFKC", room or ""))
    if not runs:
        return 0
    return int(runs[-1]) // 100


def address_key(building: str | None, unit: str | None, room: str | None) -> tuple[object, ...]:
    """Building, unit, floor, room, in the order a person walks them."""
    return (natural_key(building), natural_key(unit), floor_of(room), natural_key(room))
