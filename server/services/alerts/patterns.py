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
from typing import Any

from protocol.reasons import ReasonCode
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
Alert = dict[str, Any]


@dataclass(frozen=True, slots=True)
class History:
    """Stored refusals and grants of the batch's passes, read before the batch is inserted."""

    denials: list[dict[str, Any]]
    grants: list[dict[str, Any]]


def _refused(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        r for r in rows if r["pass_ref"] and not r["granted"] and r["reason"] in REFUSAL_REASONS
    ]


def _granted(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rows if r["pass_ref"] and r["granted"] and r["flag"] is None]


async def history(conn: Connection, rows: list[dict[str, Any]]) -> History:
    """What the patterns need from before this batch (one query per rule, none if not needed)."""
    refused, granted = _refused(rows), _granted(rows)
    denials = grants = []
    if refused:
        denials = await alert_store.denials_of(
            conn, refs={r["pass_ref"] for r in refused}, reasons=REFUSAL_REASONS,
            since_ms=min(r["at_ms"] for r in refused) - REFUSAL_WINDOW_MS,
        )  # fmt: skip
    if granted:
        grants = await alert_store.grants_of(
            conn, refs={r["pass_ref"] for r in granted},
            since_ms=min(r["at_ms"] for r in granted) - TRAVEL_WINDOW_MS,
            until_ms=max(r["at_ms"] for r in granted) + TRAVEL_WINDOW_MS,
        )  # fmt: skip
    return History(denials, grants)


def _by_ref(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Stored events grouped by pass (a missing pass has none)."""
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        grouped[row["pass_ref"]].append(row)
    return grouped


def _before(rows: list[dict[str, Any]]) -> dict[str, int]:
    """Each event id's position in the batch (stored events are not in it: they came first)."""
    return {r["event_id"]: i for i, r in enumerate(rows)}


async def on_batch(
    conn: Connection,
    rows: list[dict[str, Any]],
    before: History,
    *,
    lane: dict[str, Any],
    now: int,
) -> list[Alert]:
    """Pattern alerts raised by a batch of newly stored events of one gate (``lane``)."""
    return await _refusals(conn, rows, before, now) + await _travel(conn, rows, before, lane, now)


async def _refusals(
    conn: Connection, rows: list[dict[str, Any]], before: History, now: int
) -> list[Alert]:
    mine = _refused(rows)
    if not mine:
        return []
    position = _before(rows)
    by_ref = _by_ref(before.denials + mine)
    alerts = []
    for row in mine:
        here = position[row["event_id"]]
        count = sum(
            1 for d in by_ref[row["pass_ref"]]
            if d["at_ms"] >= row["at_ms"] - REFUSAL_WINDOW_MS
            and position.get(d["event_id"], -1) <= here
        )  # fmt: skip
        if count >= REFUSALS:
            kind = AlertKind.REPEATED_REFUSALS
            alerts.append(await occurred_for(conn, kind, row, row["pass_ref"], now, count=count))
    return alerts


async def _travel(
    conn: Connection,
    rows: list[dict[str, Any]],
    before: History,
    lane: dict[str, Any],
    now: int,
) -> list[Alert]:
    mine = _granted(rows)
    if not mine:
        return []
    where = {"zone_id": lane["zone_id"], "direction": lane["direction"]}
    position = _before(rows)
    by_ref = _by_ref(before.grants + [row | where for row in mine])
    alerts = []
    for row in mine:
        other = _elsewhere(row, by_ref[row["pass_ref"]], position)
        if other is not None:
            kind = AlertKind.IMPOSSIBLE_TRAVEL
            alerts.append(
                await occurred_for(conn, kind, row, row["pass_ref"], now, other_gate=other)
            )
    return alerts


def _elsewhere(
    row: dict[str, Any], grants: list[dict[str, Any]], position: dict[str, int]
) -> str | None:
    """The gate of an earlier grant of the same pass that this one cannot follow, if any."""
    me = next((g for g in grants if g["event_id"] == row["event_id"]), None)
    if me is None:
        return None
    here = position[row["event_id"]]
    for other in grants:
        if other["gate"] == row["gate"] or abs(other["at_ms"] - row["at_ms"]) > TRAVEL_WINDOW_MS:
            continue
        if position.get(other["event_id"], -1) > here:
            continue  # later in this batch: it will be judged against this one
        same_way = other["direction"] is not None and other["direction"] == me["direction"]
        apart = other["zone_id"] is not None and other["zone_id"] != me["zone_id"]
        if same_way or apart:
            return str(other["gate"])
    return None
