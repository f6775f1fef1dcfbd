"""The server's clock port: services and routes ask it for the time instead of the OS."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """Tells the time in unix seconds."""

    def now(self) -> int:
        """The current unix time in whole seconds."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> int:
        """The current unix time in whole seconds."""
        return int(time.time())
