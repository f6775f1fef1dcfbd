"""Which events and statuses raise which alerts (run inside the ingest's write transaction).

Thresholds are constants here and listed in docs/operations.md: three refusals of the check by
one pass within 30 minutes; a pass granted at two lanes in the same direction, or in two
zones, within 120 seconds.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from protocol.messages import AlarmKind, DeviceState, GateStatus, Lifecycle
from protocol.reasons import ReasonCode
from server.services.alerts import AlertKind, condition, ended, occurred
from server.store import alerts as alert_store

REFUSAL_REASONS = [
    ReasonCode.NO_TEMPERATURE.value,
    ReasonCode.IMPLAUSIBLE_TEMPERATURE.value,
    ReasonCode.TIMEOUT.value,
]
REFUSALS = 3
REFUSAL_WINDOW_MS = 30 * 60 * 1000
TRAVEL_WINDOW_MS = 120 * 1000

_ALARMS = {
    AlarmKind.FEVER_CONFIRMED: AlertKind.FEVER,
    AlarmKind.SUSPECTED_LENDING: AlertKind.SUSPECTED_LENDING,
    AlarmKind.DOOR_FORCED: AlertKind.DOOR,
    AlarmKind.DOOR_HELD_OPEN: AlertKind.DOOR,
    AlarmKind.DEVICE_OFFLINE: AlertKind.DEVICE_FAULT,
    AlarmKind.STORE_CORRUPT: AlertKind.DEVICE_FAULT,
    AlarmKind.OUTBOX_HIGH: AlertKind.OUTBOX_BACKLOG,
    AlarmKind.OUTBOX_FULL: AlertKind.OUTBOX_BACKLOG,
    AlarmKind.CLOCK_UNTRUSTED: AlertKind.CLOCK_UNTRUSTED,
    AlarmKind.REGISTRY_STALE: AlertKind.REVOCATION_STALE,
}
Alert = dict[str, Any]


def _subject(row: dict[str, Any], alarm: AlarmKind) -> str:
    """What an alarm is about: the pass, the device named in the note, the door, or nothing.

    Condition-like alarms (clock, backlog, stale list) share the subject "" with the alert the
    gate's status raises, so the two land on one alert.
    """
    if alarm in (AlarmKind.DEVICE_OFFLINE, AlarmKind.DEVICE_RECOVERED):
        return str(row["note"] or "device")
    if alarm == AlarmKind.STORE_CORRUPT:
        return "store"
    if alarm in (AlarmKind.DOOR_FORCED, AlarmKind.DOOR_HELD_OPEN):
        return alarm.value
    if alarm in (AlarmKind.FEVER_CONFIRMED, AlarmKind.SUSPECTED_LENDING):
        return str(row["pass_ref"] or "")
    return ""


async def on_event(
    conn: AsyncConnection, row: dict[str, Any], *, now: int, later: set[str]
) -> list[Alert]:
    """Alerts raised by one newly stored event row (``later``: the same pass's events stored
    after it in the same batch, which it must not count yet)."""
    if row["alarm"] is not None:
        return await _on_alarm(conn, row, AlarmKind(row["alarm"]), now)
    if row["reason"] == ReasonCode.FEVER.value:
        return [await _occurred(conn, AlertKind.FEVER, row, row["pass_ref"] or "", now)]
    if row["pass_ref"] is None:
        return []
    if row["granted"]:
        return await _travel(conn, row, now, later)
    if row["reason"] in REFUSAL_REASONS:
        return await _refusals(conn, row, now, later)
    return []


async def _occurred(
    conn: AsyncConnection,
    kind: AlertKind,
    row: dict[str, Any],
    subject: str,
    now: int,
    **extra: Any,
) -> Alert:
    return await occurred(
        conn, kind, gate=row["gate"], subject=subject, now=now, event_id=row["event_id"],
        at_ms=row["at_ms"], reason=row["reason"], alarm=row["alarm"], note=row["note"], **extra,
    )  # fmt: skip


async def _on_alarm(
    conn: AsyncConnection, row: dict[str, Any], alarm: AlarmKind, now: int
) -> list[Alert]:
    subject = _subject(row, alarm)
    if alarm == AlarmKind.DEVICE_RECOVERED:
        await ended(conn, AlertKind.DEVICE_FAULT, gate=row["gate"], subject=subject, now=now)
        return []
    kind = _ALARMS.get(alarm)
    if kind is None:
        return []  # apb_conflict and mode_changed are shown as events, not alerts
    return [await _occurred(conn, kind, row, subject, now)]


async def _refusals(
    conn: AsyncConnection, row: dict[str, Any], now: int, later: set[str]
) -> list[Alert]:
    count = await alert_store.recent_denials(
        conn, pass_ref=row["pass_ref"], since_ms=row["at_ms"] - REFUSAL_WINDOW_MS,
        later=later, reasons=REFUSAL_REASONS,
    )  # fmt: skip
    if count < REFUSALS:
        return []
    return [await _occurred(conn, AlertKind.REPEATED_REFUSALS, row, row["pass_ref"], now)]


async def _travel(
    conn: AsyncConnection, row: dict[str, Any], now: int, later: set[str]
) -> list[Alert]:
    grants = await alert_store.recent_grants(
        conn, pass_ref=row["pass_ref"], since_ms=row["at_ms"] - TRAVEL_WINDOW_MS,
        until_ms=row["at_ms"] + TRAVEL_WINDOW_MS, later=later,
    )  # fmt: skip
    mine = next((g for g in grants if g["event_id"] == row["event_id"]), None)
    if mine is None:
        return []
    for other in grants:
        if other["gate"] == row["gate"]:
            continue
        same_way = other["direction"] is not None and other["direction"] == mine["direction"]
        apart = other["zone_id"] is not None and other["zone_id"] != mine["zone_id"]
        if same_way or apart:
            kind = AlertKind.IMPOSSIBLE_TRAVEL
            return [
                await _occurred(conn, kind, row, row["pass_ref"], now, other_gate=other["gate"])
            ]
    return []


async def on_status(
    conn: AsyncConnection, status: GateStatus, *, backlog: int, now: int
) -> list[Alert]:
    """Conditions a status report shows: clock, devices, backlog; an online gate is not offline."""
    gate = status.gate
    raised: list[Alert | None] = []
    if status.state == Lifecycle.ONLINE:
        await ended(conn, AlertKind.GATE_OFFLINE, gate=gate, now=now)
        raised.append(
            await _hold(
                conn,
                AlertKind.CLOCK_UNTRUSTED,
                gate=gate,
                subject="",
                holds=not status.clock_trusted,
                now=now,
            )
        )
    for device in status.devices:
        bad = device.state in (DeviceState.FAULT, DeviceState.OFFLINE)
        raised.append(
            await _hold(
                conn, AlertKind.DEVICE_FAULT, gate=gate, subject=device.name, holds=bad, now=now,
                state=device.state.value, detail=device.detail,
            )
        )  # fmt: skip
    if status.outbox_depth >= backlog:
        raised.append(
            await condition(conn, AlertKind.OUTBOX_BACKLOG, gate=gate, now=now,
                            depth=status.outbox_depth)
        )  # fmt: skip
    elif status.outbox_depth < backlog // 2:
        await ended(conn, AlertKind.OUTBOX_BACKLOG, gate=gate, now=now)
    return [a for a in raised if a is not None]


async def _hold(
    conn: AsyncConnection,
    kind: AlertKind,
    *,
    gate: str,
    subject: str,
    holds: bool,
    now: int,
    **detail: Any,
) -> Alert | None:
    if holds:
        return await condition(conn, kind, gate=gate, subject=subject, now=now, **detail)
    await ended(conn, kind, gate=gate, subject=subject, now=now)
    return None
