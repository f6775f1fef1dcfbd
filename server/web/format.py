"""How values look on the staff pages: local times, temperatures, masked names and phones.

Times are shown in the site's local time (``card_utc_offset_min``, UTC+8 by default, the same
offset the printed cards use). Names are masked as GB/T 35273 suggests for displays: a
two-character name keeps its first character (张*), longer ones keep the first and last (张*明).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from server.services.text import mask_name, mask_phone

__all__ = ["Clockface", "mask_name", "mask_phone", "temperature"]

FEVER_C = 37.3


def temperature(value: float | None) -> str:
    """One decimal and the unit, or an em dash when there is no reading."""
    return "—" if value is None else f"{value:.1f} °C"


class Clockface:
    """Formats unix times in the site's local time."""

    def __init__(self, utc_offset_min: int) -> None:
        self.zone = timedelta(minutes=utc_offset_min)

    def local(self, unix_s: float) -> datetime:
        """The naive local datetime of a unix time."""
        return datetime.fromtimestamp(unix_s, UTC).replace(tzinfo=None) + self.zone

    def to_unix(self, local: datetime) -> int:
        """The unix time of a naive local datetime (form inputs)."""
        return int((local - self.zone).replace(tzinfo=UTC).timestamp())

    def day_start(self, unix_s: float) -> int:
        """The unix time of local midnight on the day of ``unix_s``."""
        local = self.local(unix_s)
        return self.to_unix(local.replace(hour=0, minute=0, second=0, microsecond=0))

    def datetime(self, unix_s: float | None) -> str:
        """``2026-11-05 14:03``."""
        return "" if unix_s is None else self.local(unix_s).strftime("%Y-%m-%d %H:%M")

    def time(self, unix_s: float | None) -> str:
        """``14:03:27``."""
        return "" if unix_s is None else self.local(unix_s).strftime("%H:%M:%S")

    def date(self, unix_s: float | None) -> str:
        """``2026-11-05``."""
        return "" if unix_s is None else self.local(unix_s).strftime("%Y-%m-%d")
