"""The daily report for the street office (issue 17 item 7): for one local day, per zone and
lane, entries and exits per hour, an estimate of who is inside, fever refusals, overrides by
reason, visitors, lending alerts, observation periods and follow-up calls.

Every number is a count of stored rows (the events table for passages, the alerts, visitors,
residents and followup_calls tables for the rest), read in the actor's zone scope; no names,
phones or temperatures leave this module. Refusals of the check (拒绝检测/劝返) are the rows of
the ``refusals`` table the lane console records, counted by
``server.services.incidents.refusals.count_refusals`` in the same read transaction.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from protocol.messages import OverrideReason
from server.services.alerts.kinds import AlertKind
from server.services.context import Actor, Env
from server.services.errors import Invalid, NotFound
from server.services.incidents.refusals import count_refusals
from server.store import daily as store
from server.store.daily import EventCount, LaneRow, Window

HOURS = 24
DAY_S = 86_400
UNSPECIFIED = "unspecified"  # an override with no reason (the gate's button)
DAY_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
ZONE_TEXT = re.compile(r"\d{1,9}", re.ASCII)
FIRST_YEAR, LAST_YEAR = 2000, 2199  # a day outside these is a typing mistake
BAD_DAY, BAD_ZONE = "report.bad_day", "report.bad_zone"  # error codes (catalog code.report)


def parse_day(text: str, *, now: int, offset_min: int) -> tuple[str, int]:
    """``YYYY-MM-DD`` (empty: today) and the unix time of that local midnight."""
    zone = timedelta(minutes=offset_min)
    text = text.strip() or (datetime.fromtimestamp(now, UTC) + zone).strftime("%Y-%m-%d")
    if not DAY_TEXT.fullmatch(text):
        raise Invalid("day: not a date", code=BAD_DAY)
    try:
        day = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise Invalid("day: not a date", code=BAD_DAY) from None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise Invalid("day: out of range", code=BAD_DAY)
    return text, int((day - zone).timestamp())


def parse_zone(text: str) -> int | None:
    """A zone's number (empty: every zone the reader sees)."""
    text = text.strip()
    if not text:
        return None
    if not ZONE_TEXT.fullmatch(text):
        raise Invalid("zone: not a zone number", code=BAD_ZONE)
    return int(text)


def _hours() -> list[int]:
    return [0] * HOURS


@dataclass(slots=True)
class Tally:
    """The event counts of one lane, or summed over a zone or the whole report."""

    entries: list[int] = field(default_factory=_hours)  # granted, on entry lanes
    exits: list[int] = field(default_factory=_hours)  # granted, on exit lanes
    denied: int = 0  # decisions that refused someone (every reason)
    fevers: int = 0  # decisions refused for fever
    alarms: int = 0  # alarm events
    overrides: Counter[str] = field(default_factory=Counter)  # granted overrides by reason
    visitor_passages: int = 0  # granted passages of visitor passes
    lending_alerts: int = 0  # suspected-lending alerts first raised that day
    refusals: int = 0  # refused checks (拒绝检测/劝返) recorded at the lane's console

    @property
    def entered(self) -> int:
        """Entries over the day."""
        return sum(self.entries)

    @property
    def exited(self) -> int:
        """Exits over the day."""
        return sum(self.exits)

    def add(self, other: Tally) -> None:
        """Sum ``other`` into this tally."""
        for h in range(HOURS):
            self.entries[h] += other.entries[h]
            self.exits[h] += other.exits[h]
        self.denied += other.denied
        self.fevers += other.fevers
        self.alarms += other.alarms
        self.overrides.update(other.overrides)
        self.visitor_passages += other.visitor_passages
        self.lending_alerts += other.lending_alerts
        self.refusals += other.refusals


@dataclass(slots=True)
class LaneDay:
    """One lane's day."""

    lane: LaneRow
    tally: Tally = field(default_factory=Tally)


@dataclass(slots=True)
class ZoneDay:
    """One zone's day: its lanes, their sum and the registry's counts."""

    zone_id: int
    name: str
    lanes: list[LaneDay] = field(default_factory=list)
    tally: Tally = field(default_factory=Tally)
    visitors_registered: int = 0
    observation_new: int = 0
    observation_ended: int = 0
    observation_active: int = 0
    calls_made: int = 0
    calls_unanswered: int = 0
    # 拒绝检测/劝返 recorded in the zone, also at lanes the registry no longer knows (so it can
    # exceed the sum of the lane table)
    refusals: int = 0

    @property
    def inside(self) -> list[int]:
        """The estimate of who is inside at the end of each hour (see ``inside_estimate``)."""
        return inside_estimate(self.tally.entries, self.tally.exits)


@dataclass(frozen=True, slots=True)
class DailyReport:
    """The whole report: the day, its bounds, the zones and their sum."""

    day: str
    since: int
    until: int
    zones: list[ZoneDay]
    total: ZoneDay


def inside_estimate(entries: list[int], exits: list[int]) -> list[int]:
    """Entries minus exits since local midnight, hour by hour, never below zero: who came in
    during the day and has not left. Whoever was inside at midnight is not counted, and an exit
    of someone who entered before midnight lowers the estimate (clamped at zero)."""
    inside, out = 0, []
    for came, left in zip(entries, exits, strict=True):
        inside = max(0, inside + came - left)
        out.append(inside)
    return out


def override_reason(note: str | None) -> str:
    """The reason code an override's note starts with (the console writes "code: text")."""
    if not note:
        return UNSPECIFIED
    code = note.split(":", 1)[0].strip()
    return code if code in OverrideReason.__members__.values() else OverrideReason.OTHER.value


def _count(tally: Tally, c: EventCount, direction: str) -> None:
    if c.kind == "alarm":
        tally.alarms += c.count
        return
    if c.kind != "decision":
        return
    if c.granted:
        (tally.entries if direction == "in" else tally.exits)[c.hour] += c.count
        if c.holder_kind == "visitor":
            tally.visitor_passages += c.count
    elif c.granted is False:
        tally.denied += c.count
        if c.reason == "fever":
            tally.fevers += c.count


@dataclass(frozen=True, slots=True)
class _Registry:
    """The registry's counts per zone: visitors, observation periods, calls."""

    visitors: dict[int, int]
    observations: dict[int, tuple[int, int, int]]
    calls: dict[int, tuple[int, int]]
    refusals: dict[int, int]  # per zone, every lane


def _refusals(
    refused: dict[tuple[int, str], int], names: dict[int, str], by_gate: dict[str, LaneDay]
) -> dict[int, int]:
    """Refused checks per zone of the report, also added to their lanes' tallies."""
    by_zone: Counter[int] = Counter()
    for (zone_id, gate), n in refused.items():
        if zone_id not in names:  # another zone than the chosen one
            continue
        by_zone[zone_id] += n
        lane = by_gate.get(gate)
        if lane is not None and lane.lane.zone_id == zone_id:
            lane.tally.refusals += n
    return dict(by_zone)


async def _read(env: Env, w: Window) -> tuple[dict[int, str], list[LaneDay], _Registry]:
    async with env.db.read() as conn:
        names = await store.zone_names(conn, w)
        lanes = [LaneDay(lane) for lane in await store.lanes(conn, w)]
        by_gate = {d.lane.gate: d for d in lanes}
        for c in await store.event_counts(conn, w):
            _count(by_gate[c.gate].tally, c, by_gate[c.gate].lane.direction)
        for gate, note, n in await store.override_notes(conn, w):
            by_gate[gate].tally.overrides[override_reason(note)] += n
        lending = await store.lending_alerts(conn, w, kind=AlertKind.SUSPECTED_LENDING.value)
        for gate, n in lending.items():
            by_gate[gate].tally.lending_alerts += n
        refused = await count_refusals(conn, since=w.since, until=w.until, scope=w.scope)
        extra = _Registry(
            await store.visitors_registered(conn, w),
            await store.observations(conn, w),
            await store.calls(conn, w),
            _refusals(refused, names, by_gate),
        )
    return names, lanes, extra


def _zones(names: dict[int, str], lanes: list[LaneDay], extra: _Registry) -> list[ZoneDay]:
    zones = {z: ZoneDay(z, name) for z, name in names.items()}
    for lane in lanes:
        zones[lane.lane.zone_id].lanes.append(lane)
        zones[lane.lane.zone_id].tally.add(lane.tally)
    for z, zone in zones.items():
        zone.visitors_registered = extra.visitors.get(z, 0)
        new, ended, active = extra.observations.get(z, (0, 0, 0))
        zone.observation_new, zone.observation_ended, zone.observation_active = new, ended, active
        zone.calls_made, zone.calls_unanswered = extra.calls.get(z, (0, 0))
        zone.refusals = extra.refusals.get(z, 0)
    return list(zones.values())


def _total(zones: list[ZoneDay]) -> ZoneDay:
    total = ZoneDay(0, "")  # not a zone: the sum of the report's zones
    for z in zones:
        total.tally.add(z.tally)
        total.visitors_registered += z.visitors_registered
        total.observation_new += z.observation_new
        total.observation_ended += z.observation_ended
        total.observation_active += z.observation_active
        total.calls_made += z.calls_made
        total.calls_unanswered += z.calls_unanswered
        total.refusals += z.refusals
    return total


async def daily_report(
    env: Env, actor: Actor, *, day: str, since: int, zone: int | None = None
) -> DailyReport:
    """The report of the local day starting at ``since`` (unix s), in the actor's zones or in
    one of them (a zone outside the actor's scope is not found)."""
    offset_ms = env.settings.card_utc_offset_min * 60_000
    w = Window(since, since + DAY_S, actor.scope, zone, offset_ms)
    names, lanes, extra = await _read(env, w)
    if zone is not None and zone not in names:
        raise NotFound(f"zone {zone}")
    zones = _zones(names, lanes, extra)
    return DailyReport(day, since, since + DAY_S, zones, _total(zones))
