"""Alerts from patterns across events, evaluated once per ingest batch (one query per rule).

* repeated refusals: a pass refused the check (no temperature, an implausible one, the step
  timed out) ``REFUSALS`` (3) times within ``REFUSAL_WINDOW_MS`` (30 min);
* impossible travel: a pass granted at two lanes within ``TRAVEL_WINDOW_MS`` (2 min), where
  the lanes face the same way (it entered twice) or lie in different zones.

The batch is already inserted; each event counts only what arrived before it (the events
earlier in the batch and those stored before), so a batch is judged in arrival order.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from protocol.reasons import ReasonCode
from server.services.alert_rules import occurred_for
from server.services.alerts import AlertKind
from server.store import alerts as alert_store

REFUSAL_REASONS = [
    ReasonCode.NO_TEMPERATURE.value,
    ReasonCode.IMPLAUSIBLE_TEMPERATURE.value,
    ReasonCode.TIMEOUT.value,
]
REFUSALS = 3
REFUSAL_WINDOW_MS = 30 * 60 * 1000
TRAVEL_WINDOW_MS = 120 * 1000
Alert = dict[str, Any]


def _by_ref(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Stored events grouped by pass (a missing pass has none)."""
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        grouped[row["pass_ref"]].append(row)
    return grouped


def _before(rows: list[dict[str, Any]]) -> dict[str, int]:
    """Each event id's position in the batch (stored events are not in it: they came first)."""
    return {r["event_id"]: i for i, r in enumerate(rows)}


async def on_batch(conn: AsyncConnection, rows: list[dict[str, Any]], *, now: int) -> list[Alert]:
    """Pattern alerts raised by a batch of newly stored events of one gate."""
    return await _refusals(conn, rows, now) + await _travel(conn, rows, now)


async def _refusals(conn: AsyncConnection, rows: list[dict[str, Any]], now: int) -> list[Alert]:
    mine = [
        r for r in rows if r["pass_ref"] and not r["granted"] and r["reason"] in REFUSAL_REASONS
    ]
    if not mine:
        return []
    stored = await alert_store.denials_of(
        conn, refs={r["pass_ref"] for r in mine}, reasons=REFUSAL_REASONS,
        since_ms=min(r["at_ms"] for r in mine) - REFUSAL_WINDOW_MS,
    )  # fmt: skip
    position = _before(rows)
    by_ref = _by_ref(stored)
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


async def _travel(conn: AsyncConnection, rows: list[dict[str, Any]], now: int) -> list[Alert]:
    mine = [r for r in rows if r["pass_ref"] and r["granted"] and r["flag"] is None]
    if not mine:
        return []
    grants = await alert_store.grants_of(
        conn, refs={r["pass_ref"] for r in mine},
        since_ms=min(r["at_ms"] for r in mine) - TRAVEL_WINDOW_MS,
        until_ms=max(r["at_ms"] for r in mine) + TRAVEL_WINDOW_MS,
    )  # fmt: skip
    position = _before(rows)
    by_ref = _by_ref(grants)
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
