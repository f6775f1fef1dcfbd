"""Alerts from patterns across events, evaluated once per ingest batch (one query per rule).

* repeated refusals: a pass refused the check (no temperature, an implausible one, the step
  timed out) ``REFUSALS`` (3) times within ``REFUSAL_WINDOW_MS`` (30 min);
* impossible travel: a pass granted at two lanes within ``TRAVEL_WINDOW_MS`` (2 min), where
  the lanes face the same way (it entered twice) or lie in different zones.

``history`` reads what was stored before the batch (before it is inserted, so the batch's own
rows never travel through SQL and back); ``on_batch`` then judges each event of the batch
against that history and the events earlier in the batch, in arrival order.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TypeVar

from protocol.reasons import ReasonCode
from server.records import Alert, EventData, Gate, Grant, Refusal
from server.services.alerts.kinds import AlertKind
from server.services.alerts.rules import occurred_for
from server.store import alerts as alert_store
from server.store.db import Connection

REFUSAL_REASONS = [
    ReasonCode.NO_TEMPERATURE.value,
    ReasonCode.IMPLAUSIBLE_TEMPERATURE.value,
    ReasonCode.TIMEOUT.value,
]
REFUSALS = 3
REFUSAL_WINDOW_MS = 30 * 60 * 1000
TRAVEL_WINDOW_MS = 120 * 1000
E = TypeVar("E", Refusal, Grant)


@dataclass(frozen=True, slots=True)
class History:
    """Stored refusals and grants of the batch's passes, read before the batch is inserted."""

    denials: list[Refusal]
    grants: list[Grant]


def _refused(rows: list[EventData]) -> list[Refusal]:
    """The batch's refusals of a pass that count towards repeated refusals."""
    return [
        Refusal(event_id=r.event_id, pass_ref=r.pass_ref, at_ms=r.at_ms)
        for r in rows
        if r.pass_ref and not r.granted and r.reason in REFUSAL_REASONS
    ]


def _granted(rows: list[EventData], lane: Gate) -> list[Grant]:
    """The batch's grants of a pass, at ``lane`` (replayed seqs do not count)."""
    return [
        Grant(
            event_id=r.event_id,
            pass_ref=r.pass_ref,
            gate=r.gate,
            at_ms=r.at_ms,
            zone_id=lane.zone_id,
            direction=lane.direction,
        )
        for r in rows
        if r.pass_ref and r.granted and r.flag is None
    ]


async def history(conn: Connection, rows: list[EventData]) -> History:
    """What the patterns need from before this batch (one query per rule, none if not needed)."""
    refused = [r for r in rows if r.pass_ref and not r.granted and r.reason in REFUSAL_REASONS]
    granted = [r for r in rows if r.pass_ref and r.granted and r.flag is None]
    denials: list[Refusal] = []
    grants: list[Grant] = []
    if refused:
        denials = await alert_store.denials_of(
            conn,
            refs={r.pass_ref for r in refused if r.pass_ref},
            reasons=REFUSAL_REASONS,
            since_ms=min(r.at_ms for r in refused) - REFUSAL_WINDOW_MS,
        )
    if granted:
        grants = await alert_store.grants_of(
            conn,
            refs={r.pass_ref for r in granted if r.pass_ref},
            since_ms=min(r.at_ms for r in granted) - TRAVEL_WINDOW_MS,
            until_ms=max(r.at_ms for r in granted) + TRAVEL_WINDOW_MS,
        )
    return History(denials, grants)


def _by_ref(rows: list[E]) -> dict[str, list[E]]:
    """Stored events grouped by pass."""
    grouped: dict[str, list[E]] = defaultdict(list)
    for row in rows:
        grouped[row.pass_ref].append(row)
    return grouped


def _positions(rows: list[EventData]) -> dict[str, int]:
    """Each event id's position in the batch (stored events are not in it: they came first)."""
    return {r.event_id: i for i, r in enumerate(rows)}


async def on_batch(
    conn: Connection, rows: list[EventData], before: History, *, lane: Gate, now: int
) -> list[Alert]:
    """Pattern alerts raised by a batch of newly stored events of one gate (``lane``)."""
    by_id = {r.event_id: r for r in rows}
    refusals = await _refusals(conn, rows, by_id, before, now)
    return refusals + await _travel(conn, rows, by_id, before, lane=lane, now=now)


async def _refusals(
    conn: Connection,
    rows: list[EventData],
    by_id: dict[str, EventData],
    before: History,
    now: int,
) -> list[Alert]:
    mine = _refused(rows)
    if not mine:
        return []
    position = _positions(rows)
    by_ref = _by_ref(before.denials + mine)
    alerts = []
    for refusal in mine:
        here = position[refusal.event_id]
        count = sum(
            1
            for d in by_ref[refusal.pass_ref]
            if d.at_ms >= refusal.at_ms - REFUSAL_WINDOW_MS and position.get(d.event_id, -1) <= here
        )
        if count >= REFUSALS:
            row = by_id[refusal.event_id]
            kind = AlertKind.REPEATED_REFUSALS
            alerts.append(await occurred_for(conn, kind, row, refusal.pass_ref, now, count=count))
    return alerts


async def _travel(
    conn: Connection,
    rows: list[EventData],
    by_id: dict[str, EventData],
    before: History,
    *,
    lane: Gate,
    now: int,
) -> list[Alert]:
    mine = _granted(rows, lane)
    if not mine:
        return []
    position = _positions(rows)
    by_ref = _by_ref(before.grants + mine)
    alerts = []
    for grant in mine:
        other = _elsewhere(grant, by_ref[grant.pass_ref], position)
        if other is not None:
            row = by_id[grant.event_id]
            kind = AlertKind.IMPOSSIBLE_TRAVEL
            alerts.append(
                await occurred_for(conn, kind, row, grant.pass_ref, now, other_gate=other)
            )
    return alerts


def _elsewhere(me: Grant, grants: list[Grant], position: dict[str, int]) -> str | None:
    """The gate of an earlier grant of the same pass that this one cannot follow, if any."""
    here = position[me.event_id]
    for other in grants:
        if other.gate == me.gate or abs(other.at_ms - me.at_ms) > TRAVEL_WINDOW_MS:
            continue
        if position.get(other.event_id, -1) > here:
            continue  # later in this batch: it will be judged against this one
        same_way = other.direction is not None and other.direction == me.direction
        apart = other.zone_id is not None and other.zone_id != me.zone_id
        if same_way or apart:
            return other.gate
    return None
