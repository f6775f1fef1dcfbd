"""One ingest batch in one write transaction: store what was accepted, dead-letter the rest.

``commit_batch`` opens the transaction; ``commit`` stores a classified batch idempotently in it
and returns the acks to send and the notices for live views, which the caller acts on only
after the commit. A database that cannot commit raises services.errors.Unavailable: nothing was
written, and the caller holds the batch (unacknowledged) and tries again.
"""

from __future__ import annotations

import logging

from protocol.messages import CommandResult, GateStatus
from protocol.topics import TopicKind
from server.records import Gate
from server.services import audit
from server.services.alerts.kinds import AlertKind
from server.services.alerts.raising import occurred
from server.services.context import Env
from server.services.errors import Unavailable
from server.services.ingest.events import store_events
from server.services.ingest.model import LINK_ACTOR, Accepted, BatchResult, Item, Rejected
from server.services.ingest.status import store_result, store_status
from server.store import errors as store_errors
from server.store import ingest as ingest_store
from server.store import registry
from server.store.db import Connection

logger = logging.getLogger(__name__)


async def commit_batch(env: Env, items: list[Item]) -> BatchResult:
    """Commit ``items`` in one write transaction; Unavailable if the database cannot."""
    try:
        async with env.db.write() as conn:
            return await commit(
                conn, items, now=env.clock.now(), backlog=env.settings.outbox_backlog_events
            )
    except store_errors.Unavailable as exc:
        raise Unavailable(str(exc)) from exc


async def dead_letter_alone(env: Env, item: Rejected) -> BatchResult:
    """Dead-letter one message in a transaction of its own (a message whose handling failed)."""
    result = BatchResult()
    try:
        async with env.db.write() as conn:
            await dead_letter(conn, item, now=env.clock.now(), result=result)
    except store_errors.Unavailable as exc:
        raise Unavailable(str(exc)) from exc
    return result


async def commit(
    conn: Connection,
    items: list[Item],
    *,
    now: int,
    backlog: int,
) -> BatchResult:
    """Store a classified batch in the caller's transaction; nothing is acked before commit."""
    result = BatchResult()
    lanes = {g.id: g for g in await registry.list_gates(conn, scope=None)}
    pending: dict[str, list[Accepted]] = {}
    for given in items:
        item = given
        if isinstance(item, Accepted) and item.gate not in lanes:
            item = Rejected(item.message, "unknown_gate", "gate is not registered", item.gate)
        if isinstance(item, Rejected):
            await dead_letter(conn, item, now=now, result=result)
        elif item.kind == TopicKind.EVENTS:
            pending.setdefault(item.gate, []).append(item)  # stored together, per gate
            continue
        await _flush(conn, lanes, pending, now=now, result=result)  # arrival order around statuses
        if isinstance(item, Accepted) and isinstance(item.body, GateStatus):
            await store_status(conn, item.body, now=now, backlog=backlog, result=result)
        elif isinstance(item, Accepted) and isinstance(item.body, CommandResult):
            await _result(conn, item, item.body, now=now, result=result)
    await _flush(conn, lanes, pending, now=now, result=result)
    return result


async def _result(
    conn: Connection, item: Accepted, body: CommandResult, *, now: int, result: BatchResult
) -> None:
    """Record a command's answer; one we never sent is a dead letter."""
    if not await store_result(conn, body, result=result):
        unknown = Rejected(item.message, "unknown_command", "no such request", item.gate)
        await dead_letter(conn, unknown, now=now, result=result)


async def _flush(
    conn: Connection,
    lanes: dict[str, Gate],
    pending: dict[str, list[Accepted]],
    *,
    now: int,
    result: BatchResult,
) -> None:
    """Store the events collected so far, gate by gate; dead-letter reused event ids."""
    reuse = "event id stored already with another gate or seq"
    for gate, accepted in pending.items():
        for item in await store_events(conn, lanes[gate], accepted, now=now, result=result):
            await dead_letter(
                conn, Rejected(item.message, "event_id_reuse", reuse, gate), now=now, result=result
            )
    pending.clear()


async def dead_letter(conn: Connection, item: Rejected, *, now: int, result: BatchResult) -> None:
    """Keep a rejected message; a gate speaking for another gate is audited and alerted."""
    letter = await ingest_store.dead_letter(
        conn,
        topic=item.message.topic,
        gate=item.gate,
        reason=item.reason,
        detail=item.detail,
        payload=item.message.payload,
        now=now,
    )
    result.dead += 1
    result.notices.append({"type": "dead_letter", "id": letter, "reason": item.reason})
    logger.warning("dead letter %d on %s: %s", letter, item.message.topic[:120], item.reason)
    if item.impersonation:
        await audit.record(
            conn,
            LINK_ACTOR,
            "ingest.gate_mismatch",
            at=now,
            target=f"gate:{item.gate}",
            dead_letter=letter,
        )
        alert = await occurred(
            conn, AlertKind.IMPERSONATION, gate=item.gate, now=now, dead_letter=letter
        )
        result.notices.append({"type": "alert", "alert": alert})
