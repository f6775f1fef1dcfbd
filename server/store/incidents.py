"""SQL for incidents (issue 17 items 2-4): what staff did about an alert, a pass's events
around an alert, a lane's last scan, and refused checks recorded at the console."""

from __future__ import annotations

import sqlalchemy as sa

from protocol.reasons import ReasonCode
from server.records import AlertAction, CheckRefusal, EventView
from server.store.db import Connection
from server.store.query import in_scope, insert_new, records
from server.store.reports import event_views
from server.store.schema import events, gates, households
from server.store.schema_gates import alert_actions, refusals

OVERRIDE = ReasonCode.OVERRIDE.value


async def insert_action(conn: Connection, action: AlertAction) -> AlertAction:
    """Keep one thing done about an alert."""
    return await insert_new(conn, alert_actions, action)


async def actions_of(conn: Connection, *, alert_id: int) -> list[AlertAction]:
    """What was done about an alert, oldest first."""
    query = (
        sa.select(alert_actions)
        .where(alert_actions.c.alert_id == alert_id)
        .order_by(alert_actions.c.at, alert_actions.c.id)
    )
    return records(AlertAction, await conn.execute(query))


async def pass_events(
    conn: Connection,
    *,
    scope: frozenset[int] | None,
    ref: str,
    since_ms: int,
    until_ms: int,
    limit: int,
) -> list[EventView]:
    """A pass's events in a time window at lanes in ``scope``, newest first."""
    query = (
        event_views()
        .where(
            in_scope(gates.c.zone_id, scope),
            events.c.pass_ref == ref,
            events.c.at_ms >= since_ms,
            events.c.at_ms <= until_ms,
        )
        .order_by(events.c.at_ms.desc(), events.c.id.desc())
        .limit(limit)
    )
    return records(EventView, await conn.execute(query))


async def last_scan(
    conn: Connection, *, gate: str, since_ms: int, until_ms: int
) -> EventView | None:
    """The lane's newest decision about a pass (not an override) in a time window."""
    query = (
        event_views()
        .where(
            events.c.gate == gate,
            events.c.kind == "decision",
            events.c.pass_ref.is_not(None),
            sa.or_(events.c.reason.is_(None), events.c.reason != OVERRIDE),
            events.c.at_ms >= since_ms,
            events.c.at_ms <= until_ms,
        )
        .order_by(events.c.at_ms.desc(), events.c.id.desc())
        .limit(1)
    )
    found = records(EventView, await conn.execute(query))
    return found[0] if found else None


async def overrides_of(
    conn: Connection, *, scope: frozenset[int] | None, gate: str, since_ms: int, until_ms: int
) -> list[EventView]:
    """A lane's overrides (the button, the console's open once) in a time window, oldest first."""
    query = (
        event_views()
        .where(
            in_scope(gates.c.zone_id, scope),
            events.c.gate == gate,
            events.c.reason == OVERRIDE,
            events.c.at_ms >= since_ms,
            events.c.at_ms <= until_ms,
        )
        .order_by(events.c.at_ms, events.c.id)
    )
    return records(EventView, await conn.execute(query))


async def insert_refusal(conn: Connection, refusal: CheckRefusal) -> CheckRefusal:
    """Keep a refused check."""
    return await insert_new(conn, refusals, refusal)


async def refusals_of_household(
    conn: Connection, *, household_id: int, limit: int
) -> tuple[list[CheckRefusal], int]:
    """A household's newest refused checks, and how many there are in all."""
    where = refusals.c.household_id == household_id
    query = sa.select(refusals).where(where).order_by(refusals.c.at.desc(), refusals.c.id.desc())
    rows = records(CheckRefusal, await conn.execute(query.limit(limit)))
    total = await conn.scalar(sa.select(sa.func.count()).select_from(refusals).where(where))
    return rows, int(total or 0)


def _window(since: int, until: int, scope: frozenset[int] | None) -> sa.ColumnElement[bool]:
    return sa.and_(
        refusals.c.at >= since, refusals.c.at < until, in_scope(refusals.c.zone_id, scope)
    )


async def count_by_lane(
    conn: Connection, *, since: int, until: int, scope: frozenset[int] | None
) -> dict[tuple[int, str], int]:
    """Refused checks in ``[since, until)`` per (zone id, lane), in the zones of ``scope``."""
    query = (
        sa.select(refusals.c.zone_id, refusals.c.gate, sa.func.count())
        .where(_window(since, until, scope))
        .group_by(refusals.c.zone_id, refusals.c.gate)
    )
    return {(int(z), str(g)): int(n) for z, g, n in (await conn.execute(query)).all()}


async def count_by_household(
    conn: Connection, *, since: int, until: int, scope: frozenset[int] | None
) -> dict[int | None, int]:
    """Refused checks in ``[since, until)`` per household (None: nobody identified)."""
    query = (
        sa.select(refusals.c.household_id, sa.func.count())
        .where(_window(since, until, scope))
        .group_by(refusals.c.household_id)
    )
    return {(None if h is None else int(h)): int(n) for h, n in (await conn.execute(query)).all()}


async def household_labels(conn: Connection, *, zone_id: int, limit: int) -> list[str]:
    """The labels of a zone's households (the console's list to pick one from), in order."""
    query = (
        sa.select(households.c.label)
        .where(households.c.zone_id == zone_id)
        .order_by(households.c.label)
        .limit(limit)
    )
    return [str(label) for label in (await conn.execute(query)).scalars()]


async def household_by_label(conn: Connection, *, zone_id: int, label: str) -> int | None:
    """The id of the zone's household with exactly this label, if there is one."""
    query = sa.select(households.c.id).where(
        households.c.zone_id == zone_id, households.c.label == label
    )
    found = await conn.scalar(query.limit(1))
    return None if found is None else int(found)


async def event_view(
    conn: Connection, *, scope: frozenset[int] | None, event_id: str
) -> EventView | None:
    """One event with its lane and holder, if its lane is in ``scope``."""
    query = event_views().where(in_scope(gates.c.zone_id, scope), events.c.event_id == event_id)
    found = records(EventView, await conn.execute(query.limit(1)))
    return found[0] if found else None
