"""Read-only SQL for the daily report (issue 17 item 7): the day's events counted per lane and
local hour, overrides by their note, lending alerts per lane, visitors registered, observation
periods and follow-up calls per zone. Everything is scoped through a zone (a gate's, or a
household's); events of gates the registry no longer knows are not counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from server.store.db import Connection
from server.store.query import in_scope
from server.store.schema import (
    events,
    followup_calls,
    gates,
    households,
    residents,
    visitors,
    zones,
)
from server.store.schema_gates import alerts

HOUR_MS = 3_600_000


@dataclass(frozen=True, slots=True)
class Window:
    """The report's day: [since, until) in unix seconds, the zones it may read, and the site's
    UTC offset for local hours."""

    since: int
    until: int
    scope: frozenset[int] | None
    zone: int | None
    offset_ms: int

    def zone_of(self, column: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
        """Rows in the actor's zones and, when one is chosen, in that zone."""
        chosen = sa.true() if self.zone is None else column == self.zone
        return sa.and_(in_scope(column, self.scope), chosen)


@dataclass(frozen=True, slots=True)
class LaneRow:
    """A lane in the report (a registered gate)."""

    gate: str
    name: str
    zone_id: int
    direction: str


@dataclass(frozen=True, slots=True)
class EventCount:
    """How many events of one lane and local hour share a kind, decision, reason and holder."""

    gate: str
    hour: int
    kind: str
    granted: bool | None
    reason: str | None
    holder_kind: str | None
    count: int


async def zone_names(conn: Connection, w: Window) -> dict[int, str]:
    """The zones the report covers, by id."""
    query = sa.select(zones.c.id, zones.c.name).where(w.zone_of(zones.c.id)).order_by(zones.c.id)
    return {int(r[0]): str(r[1]) for r in (await conn.execute(query)).all()}


async def lanes(conn: Connection, w: Window) -> list[LaneRow]:
    """The registered lanes of the covered zones, by zone then id."""
    query = (
        sa.select(gates.c.id, gates.c.name, gates.c.zone_id, gates.c.direction)
        .where(w.zone_of(gates.c.zone_id))
        .order_by(gates.c.zone_id, gates.c.id)
    )
    return [LaneRow(*r) for r in (await conn.execute(query)).all()]


def _day_events(w: Window) -> sa.Select[Any]:
    return (
        sa.select()
        .select_from(events.join(gates, events.c.gate == gates.c.id))
        .where(
            w.zone_of(gates.c.zone_id),
            events.c.at_ms >= w.since * 1000,
            events.c.at_ms < w.until * 1000,
        )
    )


async def event_counts(conn: Connection, w: Window) -> list[EventCount]:
    """The day's events grouped by lane, local hour, kind, decision, reason and holder kind:
    one pass over the day's rows of the ``at_ms`` index, whatever the report derives."""
    hour = ((events.c.at_ms + w.offset_ms) // HOUR_MS) % 24
    keys = (events.c.gate, hour, events.c.kind, events.c.granted, events.c.reason)
    query = (
        _day_events(w)
        .add_columns(*keys, events.c.holder_kind, sa.func.count())
        .group_by(*keys, events.c.holder_kind)
    )
    return [
        EventCount(
            gate=r[0],
            hour=int(r[1]),
            kind=r[2],
            granted=None if r[3] is None else bool(r[3]),
            reason=r[4],
            holder_kind=r[5],
            count=int(r[6]),
        )
        for r in (await conn.execute(query)).all()
    ]


async def override_notes(conn: Connection, w: Window) -> list[tuple[str, str | None, int]]:
    """Granted overrides of the day per lane and note (the note starts with the reason code)."""
    query = (
        _day_events(w)
        .add_columns(events.c.gate, events.c.note, sa.func.count())
        .where(events.c.reason == "override", events.c.granted.is_(True))
        .group_by(events.c.gate, events.c.note)
    )
    return [(r[0], r[1], int(r[2])) for r in (await conn.execute(query)).all()]


async def lending_alerts(conn: Connection, w: Window, *, kind: str) -> dict[str, int]:
    """Alerts of ``kind`` first raised during the day, per lane."""
    query = (
        sa.select(alerts.c.gate, sa.func.count())
        .select_from(alerts.join(gates, alerts.c.gate == gates.c.id))
        .where(
            w.zone_of(gates.c.zone_id),
            alerts.c.kind == kind,
            alerts.c.first_at >= w.since,
            alerts.c.first_at < w.until,
        )
        .group_by(alerts.c.gate)
    )
    return {r[0]: int(r[1]) for r in (await conn.execute(query)).all()}


async def visitors_registered(conn: Connection, w: Window) -> dict[int, int]:
    """Visitors registered during the day, per zone of the household they visit."""
    query = (
        sa.select(households.c.zone_id, sa.func.count())
        .select_from(visitors.join(households, visitors.c.host_household_id == households.c.id))
        .where(
            w.zone_of(households.c.zone_id),
            visitors.c.created_at >= w.since,
            visitors.c.created_at < w.until,
        )
        .group_by(households.c.zone_id)
    )
    return {int(r[0]): int(r[1]) for r in (await conn.execute(query)).all()}


async def observations(conn: Connection, w: Window) -> dict[int, tuple[int, int, int]]:
    """Per zone: observation periods that started during the day, that ended during it (the
    stored end is the midnight after the last day), and that were running at any time of it."""
    start, end = residents.c.observation_start, residents.c.observation_end
    running = sa.and_(start < w.until, sa.or_(end.is_(None), end > w.since))
    started = sa.and_(start >= w.since, start < w.until)
    ended = sa.and_(end > w.since, end <= w.until)
    query = (
        sa.select(
            households.c.zone_id,
            sa.func.count().filter(started),
            sa.func.count().filter(ended),
            sa.func.count().filter(running),
        )
        .select_from(residents.join(households, residents.c.household_id == households.c.id))
        .where(w.zone_of(households.c.zone_id), start.is_not(None))
        .group_by(households.c.zone_id)
    )
    return {int(r[0]): (int(r[1]), int(r[2]), int(r[3])) for r in (await conn.execute(query)).all()}


async def calls(conn: Connection, w: Window) -> dict[int, tuple[int, int]]:
    """Per zone: follow-up calls made during the day, and how many of them reached nobody."""
    query = (
        sa.select(
            households.c.zone_id,
            sa.func.count(),
            sa.func.count().filter(followup_calls.c.reached.is_(False)),
        )
        .select_from(
            followup_calls.join(residents, followup_calls.c.resident_id == residents.c.id).join(
                households, residents.c.household_id == households.c.id
            )
        )
        .where(
            w.zone_of(households.c.zone_id),
            followup_calls.c.at >= w.since,
            followup_calls.c.at < w.until,
        )
        .group_by(households.c.zone_id)
    )
    return {int(r[0]): (int(r[1]), int(r[2])) for r in (await conn.execute(query)).all()}
