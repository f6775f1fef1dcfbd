"""What is in front of a simulated thermometer: ambient air, a background, maybe a person.

A person steps in: the object temperature rises from the background to the skin temperature
over ``rise`` seconds, holds, and falls back over ``fall`` seconds (reference 1.7). Fixed
overrides and raw values replace the profile for fault injection. Pure apart from the seeded
noise generator; callers pass ``now``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass
class Visit:
    """One person in front of the sensor."""

    start: float
    peak_c: float
    hold_s: float
    rise_s: float = 0.5
    fall_s: float = 0.5

    def object_c(self, now: float, background_c: float) -> float | None:
        """The object temperature this visit gives at ``now``, or None once it is over."""
        t = now - self.start
        up = self.rise_s
        if t < 0:
            return background_c
        if t < up:
            return background_c + (self.peak_c - background_c) * t / up
        if t < up + self.hold_s:
            return self.peak_c
        if t < up + self.hold_s + self.fall_s:
            return self.peak_c - (self.peak_c - background_c) * (t - up - self.hold_s) / self.fall_s
        return None


class Scene:
    """The temperatures the simulated sensor sees."""

    def __init__(self, *, ambient_c: float = 25.1, background_c: float = 24.3, seed: int = 1):
        self.ambient_c = ambient_c
        self.background_c = background_c
        self.noise_c = 0.03
        self.visit: Visit | None = None
        self.fixed_object_c: float | None = None
        self._rng = random.Random(seed)  # noqa: S311 - simulated noise, not security

    def person(self, now: float, peak_c: float = 34.2, hold_s: float = 2.0) -> None:
        """A person steps in front of the sensor now."""
        self.visit = Visit(start=now, peak_c=peak_c, hold_s=hold_s)

    def temperatures(self, now: float) -> tuple[float, float]:
        """(object, ambient) at ``now``, with a little sensor noise."""
        if self.fixed_object_c is not None:
            obj = self.fixed_object_c
        else:
            obj = self.background_c
            if self.visit is not None:
                value = self.visit.object_c(now, self.background_c)
                if value is None:
                    self.visit = None
                else:
                    obj = value
        noise = self._rng.gauss(0.0, self.noise_c) if self.noise_c else 0.0
        return obj + noise, self.ambient_c + (noise / 3)
