"""Fakes of ``device.ports.Clock`` (moves only when told to) and ``SystemSync`` (tests)."""

from __future__ import annotations


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, wall: float = 1_800_000_000.0, monotonic: float = 1000.0) -> None:
        self._wall = wall
        self._mono = monotonic

    def wall(self) -> float:
        """Wall time."""
        return self._wall

    def monotonic(self) -> float:
        """Monotonic time."""
        return self._mono

    def advance(self, seconds: float) -> None:
        """Move both clocks forward."""
        self._wall += seconds
        self._mono += seconds

    def set_wall(self, wall: float) -> None:
        """Make the wall clock jump (NTP step, dead RTC); monotonic is untouched."""
        self._wall = wall


class FixedSync:
    """A stand-in for tests and the bench: synchronised or not, as set."""

    def __init__(self, synced: bool = False) -> None:
        self.synced = synced

    def synchronised(self, max_error_s: float) -> bool:
        """What the test set."""
        return self.synced
