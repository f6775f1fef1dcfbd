"""Which events and statuses raise which alerts (run inside the ingest's write transaction).

An alarm a gate raises maps onto an alert kind; a status report holds or ends conditions.
Patterns across events live in server.services.alert_patterns.
"""

from __future__ import annotations

from typing import Any

from protocol.messages import AlarmKind, DeviceState, GateStatus, Lifecycle
from protocol.reasons import ReasonCode
from server.records import Alert, EventData
from server.services.alerts.kinds import AlertKind
from server.services.alerts.raising import condition, ended, occurred
from server.store import alerts as alert_store
from server.store.db import Connection

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
# A gate that just came online hears the server's time within a second or two; only an
# untrusted clock reported this long after it came online is a condition (the gate's own
# CLOCK_UNTRUSTED alarm waits as long, device/watchers.py SETTLE_S).
CLOCK_SETTLE_S = 90
# Takeovers of a session in 10 minutes (protocol.takeovers) that raise ``session_takeover``: one
# can be a broker restarted in a hurry, two mean someone else holds the account's password.
TAKEOVERS_ALERT = 2


def _subject(row: EventData, alarm: AlarmKind) -> str:
    """What an alarm is about: the pass, the device named in the note, the door, or nothing.

    Condition-like alarms (clock, backlog, stale list) share the subject "" with the alert the
    gate's status raises, so the two land on one alert.
    """
    if alarm in (AlarmKind.DEVICE_OFFLINE, AlarmKind.DEVICE_RECOVERED):
        # the note is "<device>: <detail>": the device's name is the subject the status's
        # device list holds and ends, so the alarm and the status land on one alert
        return device_subject(row.note)
    if alarm == AlarmKind.STORE_CORRUPT:
        return "store"
    if alarm in (AlarmKind.DOOR_FORCED, AlarmKind.DOOR_HELD_OPEN):
        return alarm.value
    if alarm in (AlarmKind.FEVER_CONFIRMED, AlarmKind.SUSPECTED_LENDING):
        return str(row.pass_ref or "")
    return ""


def device_subject(note: str | None) -> str:
    """The device a device alarm's note names (the text before its first colon)."""
    name = (note or "").split(":", 1)[0].strip()
    return name or "device"


async def on_event(conn: Connection, row: EventData, *, now: int) -> list[Alert]:
    """Alerts one newly stored event raises by itself: its alarm, or a fever denial.

    Patterns across events (refusals, impossible travel) are server.services.alerts.patterns,
    evaluated once per batch."""
    if row.alarm is not None:
        return await _on_alarm(conn, row, AlarmKind(row.alarm), now)
    if row.reason == ReasonCode.FEVER.value:
        return [await occurred_for(conn, AlertKind.FEVER, row, row.pass_ref or "", now)]
    return []


async def occurred_for(
    conn: Connection,
    kind: AlertKind,
    row: EventData,
    subject: str,
    now: int,
    **extra: Any,
) -> Alert:
    """Count an occurrence caused by the event ``row``, with the event's facts as detail."""
    return await occurred(
        conn,
        kind,
        gate=row.gate,
        subject=subject,
        now=now,
        event_id=row.event_id,
        at_ms=row.at_ms,
        reason=row.reason,
        alarm=row.alarm,
        note=row.note,
        **extra,
    )


async def _on_alarm(conn: Connection, row: EventData, alarm: AlarmKind, now: int) -> list[Alert]:
    subject = _subject(row, alarm)
    if alarm == AlarmKind.DEVICE_RECOVERED:
        await ended(conn, AlertKind.DEVICE_FAULT, gate=row.gate, subject=subject, now=now)
        return []
    kind = _ALARMS.get(alarm)
    if kind is None:
        return []  # apb_conflict and mode_changed are shown as events, not alerts
    return [await occurred_for(conn, kind, row, subject, now)]


async def on_status(
    conn: Connection, status: GateStatus, *, backlog: int, now: int, online_since: int
) -> list[Alert]:
    """Conditions a status report shows: clock, devices, backlog; an online gate is not offline.

    ``online_since`` is when the gate came online (server clock): an untrusted clock counts
    only ``CLOCK_SETTLE_S`` after it (the next status, at most a minute later, raises it)."""
    gate = status.gate
    raised: list[Alert | None] = []
    if status.state == Lifecycle.ONLINE:
        await ended(conn, AlertKind.GATE_OFFLINE, gate=gate, now=now)
        if status.clock_trusted or now - online_since >= CLOCK_SETTLE_S:
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
    raised.extend(await _on_devices(conn, status, now=now))
    if status.outbox_depth >= backlog:
        raised.append(
            await condition(
                conn, AlertKind.OUTBOX_BACKLOG, gate=gate, now=now, depth=status.outbox_depth
            )
        )
    elif status.outbox_depth < backlog // 2:
        await ended(conn, AlertKind.OUTBOX_BACKLOG, gate=gate, now=now)
    takeovers = status.takeovers if isinstance(status.takeovers, int) else 0
    raised.append(await on_takeovers(conn, takeovers, gate=gate, subject="", now=now))
    return [a for a in raised if a is not None]


async def _on_devices(conn: Connection, status: GateStatus, *, now: int) -> list[Alert | None]:
    """Hold ``device_fault`` per device the status lists as faulty or offline; end it for a
    device back to ok, and (online only) for any subject the status no longer lists as bad (a
    device the gate lists only while it fails, like its store, or a subject of before)."""
    gate, raised = status.gate, []
    bad = set()
    for device in status.devices:
        failing = device.state in (DeviceState.FAULT, DeviceState.OFFLINE)
        if failing:
            bad.add(device.name)
        detail: dict[str, Any] = {"state": device.state.value, "detail": device.detail}
        if isinstance(device.since, int):
            detail["since"] = device.since
        raised.append(
            await _hold(
                conn,
                AlertKind.DEVICE_FAULT,
                gate=gate,
                subject=device.name,
                holds=failing,
                now=now,
                **detail,
            )
        )
    if status.state == Lifecycle.ONLINE:
        kind = AlertKind.DEVICE_FAULT
        for subject in await alert_store.open_subjects(conn, kind=kind.value, gate=gate):
            if subject not in bad:
                await ended(conn, kind, gate=gate, subject=subject, now=now)
    return raised


async def on_takeovers(
    conn: Connection, takeovers: int, *, gate: str | None, subject: str, now: int
) -> Alert | None:
    """Hold ``session_takeover`` from a session's takeovers in the last 10 minutes: raised at
    ``TAKEOVERS_ALERT``, ended at none (one alone leaves it as it is)."""
    if takeovers >= TAKEOVERS_ALERT:
        kind = AlertKind.SESSION_TAKEOVER
        return await condition(conn, kind, gate=gate, subject=subject, now=now, takeovers=takeovers)
    if takeovers == 0:
        await ended(conn, AlertKind.SESSION_TAKEOVER, gate=gate, subject=subject, now=now)
    return None


async def _hold(
    conn: Connection,
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
