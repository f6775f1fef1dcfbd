"""SQL for alerts: raise (or count again) an open alert, resolve, acknowledge, search."""

from __future__ import annotations

import sqlalchemy as sa

from server.records import Alert, Grant, JSONObject, Refusal
from server.store.db import Connection
from server.store.query import PageRequest, fetch_page, insert_new, record, records
from server.store.schema import events, gates, households, residents
from server.store.schema_gates import alerts

ALERT_SORT = {"id": alerts.c.id, "first_at": alerts.c.first_at, "last_at": alerts.c.last_at}


def _open(kind: str, gate: str | None, subject: str) -> sa.ColumnElement[bool]:
    gate_match = alerts.c.gate.is_(None) if gate is None else alerts.c.gate == gate
    return sa.and_(
        alerts.c.kind == kind, gate_match, alerts.c.subject == subject, alerts.c.acked_at.is_(None)
    )


async def find_open(conn: Connection, *, kind: str, gate: str | None, subject: str) -> Alert | None:
    """The unacknowledged alert of this kind for this gate and subject, if any."""
    row = (await conn.execute(sa.select(alerts).where(_open(kind, gate, subject)))).first()
    return record(Alert, row)


async def insert(
    conn: Connection,
    *,
    kind: str,
    severity: str,
    gate: str | None,
    subject: str,
    detail: JSONObject,
    event_id: str | None,
    now: int,
) -> Alert:
    """A new alert, counted once, neither resolved nor acknowledged."""
    fields = Alert(
        id=0,
        kind=kind,
        severity=severity,
        gate=gate,
        subject=subject,
        detail=detail,
        event_id=event_id,
        first_at=now,
        last_at=now,
        count=1,
        resolved_at=None,
        acked_at=None,
        acked_by=None,
        ack_note=None,
    )
    return await insert_new(conn, alerts, fields)


async def repeat(conn: Connection, *, alert_id: int, now: int, detail: JSONObject) -> None:
    """The condition happened again: count it, refresh the detail, reopen if it had resolved."""
    query = (
        sa.update(alerts)
        .where(alerts.c.id == alert_id)
        .values(count=alerts.c.count + 1, last_at=now, detail=detail, resolved_at=None)
    )
    await conn.execute(query)


async def resolve(conn: Connection, *, kind: str, gate: str | None, subject: str, now: int) -> int:
    """The condition is over: mark the open alert resolved (it stays listed until acknowledged)."""
    query = (
        sa.update(alerts)
        .where(_open(kind, gate, subject), alerts.c.resolved_at.is_(None))
        .values(resolved_at=now)
    )
    return (await conn.execute(query)).rowcount


async def open_subjects(conn: Connection, *, kind: str, gate: str) -> list[str]:
    """Subjects of this gate's alerts of ``kind`` that are open and not resolved."""
    query = sa.select(alerts.c.subject).where(
        alerts.c.kind == kind,
        alerts.c.gate == gate,
        alerts.c.acked_at.is_(None),
        alerts.c.resolved_at.is_(None),
    )
    return [row.subject for row in await conn.execute(query)]


async def acknowledge(conn: Connection, *, alert_id: int, by: str, note: str, now: int) -> int:
    """A staff member has seen the alert and says what they did."""
    query = (
        sa.update(alerts)
        .where(alerts.c.id == alert_id, alerts.c.acked_at.is_(None))
        .values(acked_at=now, acked_by=by, ack_note=note)
    )
    return (await conn.execute(query)).rowcount


RESIDENT_SUBJECT = "resident:"  # alerts about a resident, not a gate (follow-up calls)


def _scoped(scope: frozenset[int] | None) -> sa.ColumnElement[bool]:
    """Alerts of gates in the zones, and gate-less alerts about a resident of the zones (other
    site-wide alerts, gate None, only for unscoped staff)."""
    if scope is None:
        return sa.true()
    zones = sorted(scope)
    in_zone = sa.select(gates.c.id).where(gates.c.zone_id.in_(zones))
    subjects = (
        sa.select(sa.literal(RESIDENT_SUBJECT) + sa.cast(residents.c.id, sa.String))
        .select_from(residents.join(households, residents.c.household_id == households.c.id))
        .where(households.c.zone_id.in_(zones))
    )
    about_resident = sa.and_(
        alerts.c.gate.is_(None),
        alerts.c.subject.like(RESIDENT_SUBJECT + "%"),
        alerts.c.subject.in_(subjects),
    )
    return sa.or_(alerts.c.gate.in_(in_zone), about_resident)


async def get(conn: Connection, *, alert_id: int, scope: frozenset[int] | None) -> Alert | None:
    """One alert, if its gate is in ``scope``."""
    query = sa.select(alerts).where(alerts.c.id == alert_id, _scoped(scope))
    row = (await conn.execute(query)).first()
    return record(Alert, row)


async def search(
    conn: Connection,
    *,
    scope: frozenset[int] | None,
    page: PageRequest,
    state: str = "open",
    kind: str | None = None,
    gate: str | None = None,
) -> tuple[list[Alert], int]:
    """Alerts in scope: ``open`` (unacknowledged), ``acknowledged`` or ``all``."""
    query = sa.select(alerts).where(_scoped(scope))
    if state == "open":
        query = query.where(alerts.c.acked_at.is_(None))
    elif state == "acknowledged":
        query = query.where(alerts.c.acked_at.is_not(None))
    if kind is not None:
        query = query.where(alerts.c.kind == kind)
    if gate is not None:
        query = query.where(alerts.c.gate == gate)
    return await fetch_page(conn, query, page, ALERT_SORT, Alert)


async def open_counts(conn: Connection) -> dict[str, int]:
    """Unacknowledged alerts per gate (site-wide ones under "")."""
    query = (
        sa.select(alerts.c.gate, sa.func.count())
        .where(alerts.c.acked_at.is_(None))
        .group_by(alerts.c.gate)
    )
    return {(g or ""): int(n) for g, n in (await conn.execute(query)).all()}


async def denials_of(
    conn: Connection, *, refs: set[str], reasons: list[str], since_ms: int
) -> list[Refusal]:
    """Denied decisions of these passes with one of ``reasons`` since ``since_ms``."""
    query = sa.select(events.c.event_id, events.c.pass_ref, events.c.at_ms).where(
        events.c.pass_ref.in_(sorted(refs)),
        events.c.at_ms >= since_ms,
        events.c.granted.is_(False),
        events.c.reason.in_(reasons),
    )
    return records(Refusal, await conn.execute(query))


async def grants_of(
    conn: Connection, *, refs: set[str], since_ms: int, until_ms: int
) -> list[Grant]:
    """Granted decisions of these passes in a time window, with their lane's direction and zone."""
    query = (
        sa.select(
            events.c.event_id,
            events.c.pass_ref,
            events.c.gate,
            events.c.at_ms,
            gates.c.zone_id,
            gates.c.direction,
        )
        .select_from(events.join(gates, gates.c.id == events.c.gate, isouter=True))
        .where(
            events.c.pass_ref.in_(sorted(refs)),
            events.c.granted.is_(True),
            events.c.flag.is_(None),
            events.c.at_ms >= since_ms,
            events.c.at_ms <= until_ms,
        )
    )
    return records(Grant, await conn.execute(query))
