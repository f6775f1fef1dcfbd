"""The system clock behind ``device.ports.Clock``."""

from __future__ import annotations

import time


class SystemClock:
    """Wall time from ``time.time()``, intervals from ``time.monotonic()``."""

    def wall(self) -> float:
        """Seconds since the epoch (pass validity; may jump)."""
        return time.time()

    def monotonic(self) -> float:
        """Seconds that never go back (debounce, pulses, timeouts)."""
        return time.monotonic()
