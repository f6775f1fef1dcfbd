"""Small helpers that turn form fields into what services take (dates in the site's time)."""

from __future__ import annotations

from datetime import datetime

from server.services.errors import Invalid
from server.services.paging import Page
from server.web.format import Clockface

DAY = 86400
PAGE_SIZE = 25


def local_date(clock: Clockface, text: str, *, field: str, end_of_day: bool = False) -> int | None:
    """``YYYY-MM-DD`` as the unix time of that local midnight (or of the next one); '' is None."""
    text = text.strip()
    if not text:
        return None
    try:
        day = datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        raise Invalid(f"{field}: not a date") from None
    return clock.to_unix(day) + (DAY if end_of_day else 0)


def local_datetime(clock: Clockface, text: str, *, field: str) -> int | None:
    """``YYYY-MM-DDTHH:MM`` (a datetime-local input) as unix time; '' is None."""
    text = text.strip()
    if not text:
        return None
    try:
        return clock.to_unix(datetime.strptime(text, "%Y-%m-%dT%H:%M"))
    except ValueError:
        raise Invalid(f"{field}: not a date and time") from None


def page_of(number: int, *, sort: str = "id", descending: bool = False) -> Page:
    """The page request for a list page (fixed size: large rows for tablets)."""
    return Page.request(number, PAGE_SIZE, sort=sort, descending=descending)


def pages(total: int) -> int:
    """How many pages a list of ``total`` rows has."""
    return max(1, -(-total // PAGE_SIZE))
