"""The text of a group-chat message, from the catalogs (``chat.message.*``).

The services do not read the staff UI's catalogs themselves (they sit below the web layer): the
composition root hands the worker a :class:`Words` (server.app). A message names the alert kind,
the lanes and their zones, how many occurrences it folds, when, and a link to the incident page
of the latest alert it folds (``/ui/alerts/{id}``) when the server's public address is set. It
never names a person or a phone number: an alert's subject (a pass) and its detail are not used.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Protocol

ALERT_PAGE = "/ui/alerts/{id}"  # the incident page of one alert (server.web.routes.incidents)
MAX_LANES = 5  # more lanes are counted, not named


class Words(Protocol):
    """A catalog message in a language: ``words("zh-CN", "chat.message.title", kind=...)``."""

    def __call__(self, language: str, key: str, **values: Any) -> str:
        """The message for ``key`` with its placeholders filled in."""
        ...


@dataclass(frozen=True, slots=True)
class Facts:
    """What one message says: the kind, how many, where (lane, zone) and when."""

    kind: str
    count: int
    lanes: list[tuple[str, str]]
    first_at: int
    last_at: int
    alert_id: int

    def as_json(self, link: str | None) -> dict[str, Any]:
        """The facts as the generic webhook's body carries them."""
        return {
            "kind": self.kind,
            "count": self.count,
            "lanes": [{"lane": lane, "zone": zone} for lane, zone in self.lanes],
            "first_at": self.first_at,
            "last_at": self.last_at,
            "alert_id": self.alert_id,
            "link": link,
        }


def link_of(public_url: str, alert_id: int) -> str | None:
    """The link to the alert's incident page, if the server's public address is configured."""
    return public_url.rstrip("/") + ALERT_PAGE.format(id=alert_id) if public_url else None


def _time(at: int, offset_min: int, *, with_date: bool = True) -> str:
    local = datetime.fromtimestamp(at, UTC).astimezone(timezone(timedelta(minutes=offset_min)))
    return local.strftime("%Y-%m-%d %H:%M" if with_date else "%H:%M")


def compose(words: Words, language: str, facts: Facts, *, link: str | None, offset_min: int) -> str:
    """The message text in ``language``."""
    kind = words(language, f"alerts.{facts.kind}")
    lines = [words(language, "chat.message.title", kind=kind, count=facts.count)]
    named = [words(language, "chat.message.lane", lane=n, zone=z) for n, z in facts.lanes]
    lanes = words(language, "chat.message.separator").join(named[:MAX_LANES])
    if len(named) > MAX_LANES:
        lanes += words(language, "chat.message.more_lanes", count=len(named) - MAX_LANES)
    lanes = lanes or words(language, "chat.message.site")
    lines.append(words(language, "chat.message.where", lanes=lanes))
    if facts.first_at == facts.last_at:
        lines.append(words(language, "chat.message.when", time=_time(facts.last_at, offset_min)))
    else:
        first = _time(facts.first_at, offset_min)
        same_day = first[:10] == _time(facts.last_at, offset_min)[:10]
        last = _time(facts.last_at, offset_min, with_date=not same_day)
        lines.append(words(language, "chat.message.between", first=first, last=last))
    if link:
        lines.append(words(language, "chat.message.link", url=link))
    return "\n".join(lines)


REASONS = frozenset({"http", "errcode", "not_json", "network", "disabled"})


def why(words: Words, language: str, error: str) -> str:
    """A delivery's failure (``"<reason> <detail>"``, server.services.alerts.channels.sending)
    in the reader's words, the robot's own detail kept as it came."""
    reason, _, detail = error.partition(" ")
    if reason not in REASONS:
        reason, detail = "other", error
    return words(language, f"chat.why.{reason}", detail=detail)


def trial_text(words: Words, language: str, name: str, now: int, offset_min: int) -> str:
    """The text of the admin's "send a test message"."""
    return words(language, "chat.message.test", name=name, time=_time(now, offset_min))
