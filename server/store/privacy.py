"""SQL for data-subject rights and the retention job (PIPL art. 19, 45, 47; D-02, D-04, D-05)."""

from __future__ import annotations

import sqlalchemy as sa

from server.records import DeletionReceipt, Event, HeldPass
from server.store.db import Connection
from server.store.query import insert_new, records
from server.store.schema import deletion_receipts, events, passes, residents, visitors
from server.store.schema_gates import alert_actions, alerts, refusals


async def passes_of(conn: Connection, *, resident_id: int) -> list[HeldPass]:
    """Every pass a resident ever held (for export), without the pass text."""
    columns = [c for c in passes.c if c.name not in {"text", "pass_id"}]
    query = sa.select(*columns).where(passes.c.resident_id == resident_id).order_by(passes.c.id)
    return records(HeldPass, await conn.execute(query))


async def events_of(conn: Connection, *, refs: list[str], limit: int) -> list[Event]:
    """Gate events of the given pass refs, newest first, at most ``limit``."""
    if not refs:
        return []
    query = (
        sa.select(events)
        .where(events.c.pass_ref.in_(refs))
        .order_by(events.c.at_ms.desc())
        .limit(limit)
    )
    return records(Event, await conn.execute(query))


async def insert_receipt(
    conn: Connection, *, at: int, subject: str, actor: str, passes_revoked: int
) -> DeletionReceipt:
    """Record that a person's data was erased (pseudonymous subject, no name)."""
    fields = DeletionReceipt(
        id=0, at=at, subject=subject, actor=actor, passes_revoked=passes_revoked
    )
    return await insert_new(conn, deletion_receipts, fields)


async def clear_event_health(conn: Connection, *, before_ms: int) -> int:
    """Drop temperatures from events older than ``before_ms``; the decisions stay."""
    query = (
        sa.update(events)
        .where(
            events.c.at_ms < before_ms,
            sa.or_(events.c.body_c.is_not(None), events.c.temperatures.is_not(None)),
        )
        .values(body_c=None, temperatures=sa.null())  # SQL NULL, not JSON null
    )
    return (await conn.execute(query)).rowcount


async def delete_events(conn: Connection, *, before_ms: int) -> int:
    """Delete gate events older than ``before_ms`` (whereabouts are personal data)."""
    return (await conn.execute(sa.delete(events).where(events.c.at_ms < before_ms))).rowcount


async def clear_ended_observations(conn: Connection, *, ended_before: int, now: int) -> int:
    """Anonymise home-observation records that ended before ``ended_before``."""
    query = (
        sa.update(residents)
        .where(residents.c.observation_end.is_not(None), residents.c.observation_end < ended_before)
        .values(status="normal", observation_start=None, observation_end=None, updated_at=now)
    )
    return (await conn.execute(query)).rowcount


async def expired_visitors(conn: Connection, *, before: int) -> list[int]:
    """Visitors whose registration ended before ``before``."""
    query = sa.select(visitors.c.id).where(visitors.c.valid_until < before)
    return list((await conn.scalars(query)).all())


async def delete_visitors(conn: Connection, *, ids: list[int]) -> int:
    """Delete visitor rows (their passes were detached first)."""
    if not ids:
        return 0
    return (await conn.execute(sa.delete(visitors).where(visitors.c.id.in_(ids)))).rowcount


async def detach_visitor_passes(conn: Connection, *, ids: list[int]) -> int:
    """Forget which visitor held which pass and drop the pass text."""
    if not ids:
        return 0
    query = sa.update(passes).where(passes.c.visitor_id.in_(ids)).values(visitor_id=None, text=None)
    return (await conn.execute(query)).rowcount


async def clear_incident_notes(conn: Connection, *, before: int) -> int:
    """Drop the free-text notes of alert actions and refused checks older than ``before``
    (unix s): what someone said on the phone may be health data; who did what stays."""
    cleared = 0
    for table in (alert_actions, refusals):
        query = (
            sa.update(table).where(table.c.at < before, table.c.note.is_not(None)).values(note=None)
        )
        cleared += (await conn.execute(query)).rowcount
    return cleared


async def delete_incident_rows(conn: Connection, *, before: int) -> tuple[int, int]:
    """Delete alert actions and refused checks older than ``before`` (unix s), like the gate
    events they are about; returns (alert actions, refusals) deleted."""
    actions = await conn.execute(sa.delete(alert_actions).where(alert_actions.c.at < before))
    refused = await conn.execute(sa.delete(refusals).where(refusals.c.at < before))
    return actions.rowcount, refused.rowcount


async def alerts_about(conn: Connection, *, refs: list[str], subject: str) -> list[int]:
    """The alerts about a person: on one of their pass refs (the subject, or the pass of the
    event that raised it) or on ``subject`` (``resident:<id>``)."""
    about = [alerts.c.subject == subject]
    if refs:
        raised_by = sa.select(events.c.event_id).where(events.c.pass_ref.in_(refs))
        about += [alerts.c.subject.in_(refs), alerts.c.event_id.in_(raised_by)]
    query = sa.select(alerts.c.id).where(sa.or_(*about)).order_by(alerts.c.id)
    return [int(i) for i in (await conn.scalars(query)).all()]


async def clear_notes_about(conn: Connection, *, alert_ids: list[int], refs: list[str]) -> int:
    """Drop the free-text notes about a person: of the actions on (and the acknowledgements
    of) ``alert_ids``, and of the refused checks that name one of ``refs``."""
    cleared = 0
    if alert_ids:
        actions = (
            sa.update(alert_actions)
            .where(alert_actions.c.alert_id.in_(alert_ids), alert_actions.c.note.is_not(None))
            .values(note=None)
        )
        acks = (
            sa.update(alerts)
            .where(alerts.c.id.in_(alert_ids), alerts.c.ack_note.is_not(None))
            .values(ack_note=None)
        )
        cleared += (await conn.execute(actions)).rowcount + (await conn.execute(acks)).rowcount
    if refs:
        refused = (
            sa.update(refusals)
            .where(refusals.c.pass_ref.in_(refs), refusals.c.note.is_not(None))
            .values(note=None)
        )
        cleared += (await conn.execute(refused)).rowcount
    return cleared


async def clear_alert_health(conn: Connection, *, subject: str) -> int:
    """Drop the reported temperature and symptoms from the alerts on ``subject`` (a follow-up
    escalation's ``resident:<id>``); the kind, times and count stay."""
    query = (
        sa.update(alerts)
        .where(alerts.c.subject == subject)
        .values(detail=sa.func.json_remove(alerts.c.detail, "$.temperature_c", "$.symptoms"))
    )
    return (await conn.execute(query)).rowcount
