"""Debounce of a scanned key matrix (pure; the GPIO adapter feeds it, callers pass ``now``).

A key is reported once when it has been seen pressed for ``settle`` seconds, and again only
after it has been seen released for ``settle`` seconds. Two keys at once (a palm on the pad)
report nothing until only one is held.
"""

from __future__ import annotations

KEYMAP_3X4 = (("1", "2", "3"), ("4", "5", "6"), ("7", "8", "9"), ("*", "0", "#"))


class KeyMatrix:
    """Turns successive scans (the set of keys down) into debounced key presses."""

    def __init__(self, settle: float = 0.03) -> None:
        self._settle = settle
        self._candidate: str | None = None
        self._since = 0.0
        self._reported: str | None = None

    def update(self, down: frozenset[str], now: float) -> str | None:
        """Feed one scan; returns a key the first time it is stably pressed."""
        key = next(iter(down)) if len(down) == 1 else None
        if key != self._candidate:
            self._candidate, self._since = key, now
            return None
        if now - self._since < self._settle:
            return None
        if key != self._reported:
            self._reported = key
            return key
        return None
