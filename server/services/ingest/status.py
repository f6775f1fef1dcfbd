"""Storing a gate's retained status and its command results (inside the ingest transaction).

A status carries ``outbox_floor_seq``: every seq below it is no longer held by the gate. When
the server's contiguous seq is below that floor, the seqs it never received are lost for good
(a quarantined store on the gate): they are recorded as a gap, alerted, and the contiguous seq
moves past them so the gate's later events are acked instead of waiting forever.
"""

from __future__ import annotations

import msgspec
from msgspec.structs import replace

from protocol.messages import CommandResult, GateStatus
from server.records import LaneStatus
from server.services.alerts import rules as alert_rules
from server.services.alerts.kinds import AlertKind
from server.services.alerts.raising import occurred
from server.services.ingest.model import BatchResult
from server.store import commands as command_store
from server.store import gate_state
from server.store import ingest as ingest_store
from server.store.db import Connection


def status_row(status: GateStatus, previous: LaneStatus | None, now: int) -> LaneStatus:
    """The gate_status row; ``since`` moves only when the lifecycle state changes."""
    changed = previous is None or previous.state != status.state.value
    return LaneStatus(
        gate=status.gate,
        state=status.state.value,
        since=now if changed or previous is None else previous.since,
        at_ms=status.at,
        boot_id=status.boot_id,
        software=status.software,
        mode=status.mode.value,
        clock_trusted=status.clock_trusted,
        outbox_depth=status.outbox_depth,
        outbox_floor_seq=status.outbox_floor_seq,
        manifest_seq=status.manifest_seq,
        revocation_seq=status.revocation_seq,
        config_version=status.config_version,
        devices=[msgspec.to_builtins(d) for d in status.devices],
        received_at=now,
        dead_letters=status.dead_letters or 0,  # unset: a gate of before, or none held
    )


async def store_status(
    conn: Connection, status: GateStatus, *, now: int, backlog: int, result: BatchResult
) -> None:
    """Keep the gate's latest status, apply its outbox floor, raise or end its conditions."""
    previous = await gate_state.get_status(conn, gate=status.gate)
    row = status_row(status, previous, now)
    await gate_state.put_status(conn, status=row)
    if status.outbox_floor_seq is not None:
        await _apply_floor(conn, status.gate, status.outbox_floor_seq, now=now, result=result)
    conditions = await alert_rules.on_status(
        conn, status, backlog=backlog, now=now, online_since=row.since
    )
    for alert in conditions:
        result.notices.append({"type": "alert", "alert": alert})
    result.notices.append(
        {"type": "gate", "gate": {"gate": row.gate, "state": row.state, "mode": row.mode}}
    )


async def _apply_floor(
    conn: Connection, gate: str, floor: int, *, now: int, result: BatchResult
) -> None:
    state = await ingest_store.ingest_state(conn, gate=gate, now=now)
    acked = state.acked_seq
    if floor - 1 <= acked:
        return
    result.moving(gate, acked)
    ranges = await ingest_store.missing_ranges(conn, gate=gate, after=acked, before=floor)
    await ingest_store.insert_gaps(conn, gate=gate, ranges=ranges, now=now)
    acked = await ingest_store.walk_contiguous(conn, gate=gate, acked=floor - 1)
    await ingest_store.save_state(
        conn, replace(state, acked_seq=acked, max_seq=max(state.max_seq, acked), updated_at=now)
    )
    result.acks[gate] = acked
    if ranges:
        missing = sum(b - a + 1 for a, b in ranges)
        alert = await occurred(
            conn, AlertKind.SEQ_GAP, gate=gate, now=now, ranges=ranges[:20], missing=missing
        )
        result.notices.append({"type": "alert", "alert": alert})
        result.notices.append({"type": "gap", "gate": gate, "ranges": ranges[:20]})


async def store_result(conn: Connection, body: CommandResult, *, result: BatchResult) -> bool:
    """Record a gate's answer to one of our commands; False if we never sent that request."""
    command = await command_store.get_command(conn, request_id=body.request_id)
    if command is None or command.gate != body.gate:
        return False
    await command_store.record_result(
        conn,
        request_id=body.request_id,
        outcome=body.outcome.value,
        result_at=body.at,
        detail=body.detail,
    )
    result.notices.append(
        {
            "type": "command",
            "request_id": body.request_id,
            "gate": body.gate,
            "outcome": body.outcome.value,
        }
    )
    return True
