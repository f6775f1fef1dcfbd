"""One ingest batch in one write transaction: store what was accepted, dead-letter the rest.

``commit_batch`` opens the transaction; ``commit`` stores a classified batch idempotently in it
and returns the acks to send and the notices for live views, which the caller acts on only
after the commit. A database that cannot commit raises services.errors.Unavailable: nothing was
written, and the caller holds the batch (unacknowledged) and tries again.

A refused event whose seq is known (``Rejected.refusal``) settles that seq: its dead letter
keeps the seq, the gate's contiguous seq walks past it, and the ack names it as refused, so
the gate stops sending it and nothing after it waits. The same refusal heard again (a resend)
is named again, not stored twice.
"""

from __future__ import annotations

import logging

from msgspec.structs import replace

from protocol.messages import CommandResult, GateEvent, GateStatus
from protocol.reasons import RefusalCode
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
            await _name_refusals(conn, result)
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
    await _name_refusals(conn, result)
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
            seq = item.body.seq if isinstance(item.body, GateEvent) else None
            reused = Rejected(item.message, "event_id_reuse", reuse, gate, seq=seq)
            await dead_letter(conn, reused, now=now, result=result)
    pending.clear()


async def dead_letter(conn: Connection, item: Rejected, *, now: int, result: BatchResult) -> None:
    """Keep a rejected message; a refused event of a registered gate settles its seq (its ack
    names it, staff get an alert); a gate speaking for another gate is audited and alerted."""
    refusal = await _refusal(conn, item)
    if refusal is not None:
        gate, seq, code = refusal
        result.refuse(gate, seq, code)
        payload = item.message.payload
        kept = await ingest_store.refused_already(conn, gate=gate, seq=seq, payload=payload)
        if kept is not None:  # sent again: named in the ack again, kept once
            await _settle_refused(conn, gate, now=now, result=result)
            letter, seq_learnt = kept
            if seq_learnt:  # kept before without a seq (unreadable, and no user property)
                await _alert_refused(conn, item, gate, seq, letter, now=now, result=result)
            return
    letter = await ingest_store.dead_letter(
        conn,
        topic=item.message.topic,
        gate=item.gate,
        reason=item.reason,
        detail=item.detail,
        payload=item.message.payload,
        now=now,
        seq=None if refusal is None else refusal[1],
    )
    result.dead += 1
    result.notices.append({"type": "dead_letter", "id": letter, "reason": item.reason})
    logger.warning("dead letter %d on %s: %s", letter, item.message.topic[:120], item.reason)
    if refusal is not None:
        await _settle_refused(conn, refusal[0], now=now, result=result)
    if item.impersonation:
        await _impersonation(conn, item, letter, now=now, result=result)
    elif refusal is not None:
        await _alert_refused(conn, item, refusal[0], refusal[1], letter, now=now, result=result)


async def _alert_refused(
    conn: Connection,
    item: Rejected,
    gate: str,
    seq: int,
    letter: int,
    *,
    now: int,
    result: BatchResult,
) -> None:
    """Staff hear of an event refused for good (once per letter, counted on the open alert)."""
    alert = await occurred(
        conn,
        AlertKind.EVENT_REFUSED,
        gate=gate,
        now=now,
        seq=seq,
        reason=item.reason,
        dead_letter=letter,
    )
    result.notices.append({"type": "alert", "alert": alert})


async def _refusal(conn: Connection, item: Rejected) -> tuple[str, int, RefusalCode] | None:
    """The (gate, seq, code) to settle, for a gate the server serves (others have no window)."""
    refusal = item.refusal
    if refusal is None or await registry.get_gate(conn, gate_id=refusal[0]) is None:
        return None
    return refusal


async def _impersonation(
    conn: Connection, item: Rejected, letter: int, *, now: int, result: BatchResult
) -> None:
    """Audit and alert a message on a gate's topic that speaks for another gate or site, or
    that came retained where a gate never retains one."""
    await audit.record(
        conn,
        LINK_ACTOR,
        f"ingest.{item.reason}",
        at=now,
        target=f"gate:{item.gate}",
        dead_letter=letter,
    )
    alert = await occurred(
        conn, AlertKind.IMPERSONATION, gate=item.gate, now=now, dead_letter=letter
    )
    result.notices.append({"type": "alert", "alert": alert})


async def _settle_refused(conn: Connection, gate: str, *, now: int, result: BatchResult) -> None:
    """A refused seq is settled: the gate's contiguous seq walks on through it."""
    state = await ingest_store.ingest_state(conn, gate=gate, now=now)
    result.moving(gate, state.acked_seq)
    acked = await ingest_store.walk_contiguous(conn, gate=gate, acked=state.acked_seq)
    if acked != state.acked_seq:
        moved = replace(state, acked_seq=acked, max_seq=max(state.max_seq, acked), updated_at=now)
        await ingest_store.save_state(conn, moved)
    result.acks[gate] = max(acked, result.acks.get(gate, 0))


async def _name_refusals(conn: Connection, result: BatchResult) -> None:
    """Each ack names the refusals its window just passed (a refusal ahead of a hole is named
    once the hole is filled), besides those this batch made; never a seq that holds a stored
    event (a forged refusal must not make the gate set aside what the server has)."""
    for gate, upto in result.acks.items():
        after = result.windows.get(gate, upto)
        if upto <= after:
            continue
        passed = await ingest_store.refusals(conn, gate=gate, after=after, upto=upto)
        for seq, reason in passed.items():
            result.refuse(gate, seq, RefusalCode(reason))
    for gate, named in result.refused.items():
        for seq in await ingest_store.occupied_seqs(conn, gate=gate, seqs=list(named)):
            del named[seq]
