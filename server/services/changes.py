"""Partial changes: a field a change leaves out keeps its value.

Where None is a value of its own (a phone cleared, a zone scope of every zone), "left out" needs
a marker that is not None: ``KEEP``. ``pick`` chooses between a change and the current value.
"""

from __future__ import annotations

import enum
from typing import TypeVar

T = TypeVar("T")


class Keep(enum.Enum):
    """The marker of a field a change leaves as it is."""

    KEEP = "keep"


KEEP = Keep.KEEP


def pick(change: T | Keep, current: T) -> T:
    """The changed value, or the current one when the change keeps it."""
    return current if isinstance(change, Keep) else change
