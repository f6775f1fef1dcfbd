"""Screening and debouncing of scanned payloads (pure; callers pass ``now``).

A payload reaches the gate logic only as printable ASCII within the length cap: NUL, 0xFF,
escape sequences, non-UTF-8 and look-alike Unicode are refused before any decoding and never
echoed. The same code seen again within the window is suppressed, on a monotonic clock, and
every sighting (suppressed or not) restarts the window so a pass held in front of the scanner
stays suppressed until it leaves the field. "Already used" is the gate logic's business.
"""

from __future__ import annotations

import hashlib

DEFAULT_MAX_PAYLOAD = 1024
DEFAULT_DEBOUNCE_S = 1.5
FORGET_AFTER_S = 60.0


def screen_payload(data: bytes, *, max_length: int = DEFAULT_MAX_PAYLOAD) -> str | tuple[str, int]:
    """The payload as text, or ``(reason, length)`` when it must be refused."""
    if not data:
        return ("empty", 0)
    if len(data) > max_length:
        return ("too_long", len(data))
    if any(b < 0x20 or b > 0x7E for b in data):
        return ("not_printable_ascii", len(data))
    return data.decode("ascii")


class Debouncer:
    """Suppresses a code seen again within ``window`` seconds of its last sighting."""

    def __init__(
        self, window: float = DEFAULT_DEBOUNCE_S, forget_after: float = FORGET_AFTER_S
    ) -> None:
        self._window = window
        self._forget_after = max(forget_after, window)
        self._seen: dict[bytes, float] = {}

    def is_new(self, payload: str, now: float) -> bool:
        """True if ``payload`` should be reported; records the sighting either way."""
        key = hashlib.sha256(payload.encode()).digest()
        last = self._seen.get(key)
        self._seen[key] = now
        if len(self._seen) > 256:
            self._seen = {k: t for k, t in self._seen.items() if now - t < self._forget_after}
        return last is None or now - last >= self._window
