"""SQL for a resident's page (issue 17 item 4): the gate events of their passes, their calls and
the changes of their home-observation status (from the audit log, the only record of them)."""

from __future__ import annotations

import sqlalchemy as sa

from server.records import Event, FollowupCall
from server.store.db import Connection
from server.store.event_log import EVENT_SORT, gates_in
from server.store.query import PageRequest, fetch_page, records
from server.store.schema import audit_log, events, followup_calls, passes

CALLS_SHOWN = 200


async def gate_history(
    conn: Connection, *, resident_id: int, scope: frozenset[int] | None, page: PageRequest
) -> tuple[list[Event], int]:
    """One page of the events of every pass the resident held, at gates in ``scope``."""
    refs = sa.select(passes.c.ref).where(passes.c.resident_id == resident_id)
    query = sa.select(events).where(events.c.pass_ref.in_(refs), gates_in(scope))
    return await fetch_page(conn, query, page, EVENT_SORT, Event)


async def recent_calls(conn: Connection, *, resident_id: int) -> list[FollowupCall]:
    """The resident's latest follow-up calls, newest first."""
    query = (
        sa.select(followup_calls)
        .where(followup_calls.c.resident_id == resident_id)
        .order_by(followup_calls.c.at.desc(), followup_calls.c.id.desc())
        .limit(CALLS_SHOWN)
    )
    return records(FollowupCall, await conn.execute(query))


def _time(detail: object, name: str) -> int | None:
    value = detail.get(name) if isinstance(detail, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


async def observation_changes(
    conn: Connection, *, resident_id: int
) -> list[tuple[int, str, str, int | None, int | None]]:
    """(time, status set, by whom, start, end) of each change of the resident's observation,
    oldest first; start and end are None in entries written before they were recorded."""
    query = (
        sa.select(audit_log.c.at, audit_log.c.detail, audit_log.c.actor)
        .where(
            audit_log.c.action == "resident.observation",
            audit_log.c.target == f"resident:{resident_id}",
        )
        .order_by(audit_log.c.id)
    )
    out = []
    for at, detail, actor in (await conn.execute(query)).all():
        status = detail.get("status") if isinstance(detail, dict) else None
        out.append(
            (int(at), str(status or ""), str(actor), _time(detail, "start"), _time(detail, "end"))
        )
    return out
