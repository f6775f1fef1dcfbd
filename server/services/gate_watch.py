"""What staff see of the gates while the server's MQTT link (issue 6) is not there yet.

Stand-ins behind server.web.links, over what the registry already holds:

* health: the gate's newest event time as its last contact; state, mode and devices unknown;
* alerts: events that need attention (fever denials, suspected lending, gate alarms) of the last
  day, acknowledged by an audit row ``alert.ack`` on ``event:<event_id>`` carrying the note;
* commands: refused with Conflict, since nothing can reach a gate without the link.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from server.services import audit
from server.services.context import Actor, Env
from server.services.errors import Conflict, Invalid, NotFound
from server.services.text import clean_text
from server.store import reports
from server.store.registry import list_gates

ALERT_WINDOW_MS = 24 * 3_600_000
ACK_ACTION = "alert.ack"
OPEN_REASONS = ("registered_by_hand", "no_smartphone", "device_fault", "emergency", "other")
MODES = ("normal", "lockdown", "free_passage")


@dataclass(frozen=True, slots=True)
class GateHealth:
    """What the pages show about one gate (lane)."""

    gate: dict[str, Any]
    state: str = "unknown"  # online, offline, starting, stopping or unknown
    mode: str | None = None
    last_contact_ms: int | None = None
    clock_trusted: bool | None = None
    outbox_depth: int | None = None
    devices: list[dict[str, Any]] = field(default_factory=list)


async def gate_health(env: Env, actor: Actor) -> list[GateHealth]:
    """Every gate in the actor's zones with its health."""
    async with env.db.read() as conn:
        gates = await list_gates(conn, scope=actor.scope)
        contact = await reports.last_contact(conn, scope=actor.scope)
    return [GateHealth(gate=g, last_contact_ms=contact.get(g["id"])) for g in gates]


def _alert(row: dict[str, Any], ack: dict[str, Any] | None) -> dict[str, Any]:
    kind = row["reason"] if row["kind"] == "decision" else "alarm"
    return {"id": row["event_id"], "kind": kind, "gate": row["gate"], "gate_name": row["gate_name"],
            "at_ms": row["at_ms"], "event": row, "acked": ack is not None,
            "acked_by": ack["actor"] if ack else None,
            "ack_note": ack["detail"].get("note") if ack else None}  # fmt: skip


async def alerts(env: Env, actor: Actor, *, open_only: bool = True) -> list[dict[str, Any]]:
    """Alerts in the actor's zones, newest first; only unacknowledged ones by default."""
    since_ms = env.clock.now() * 1000 - ALERT_WINDOW_MS
    async with env.db.read() as conn:
        rows = await reports.alert_events(conn, scope=actor.scope, since_ms=since_ms)
        acks = await reports.acknowledgements(
            conn, action=ACK_ACTION, targets=[f"event:{r['event_id']}" for r in rows]
        )
    items = [_alert(r, acks.get(f"event:{r['event_id']}")) for r in rows]
    return [a for a in items if not (open_only and a["acked"])]


async def acknowledge_alert(env: Env, actor: Actor, alert_id: str, note: str) -> None:
    """Mark an alert as seen and handled, with what was done (audited)."""
    note = clean_text(note, field="note", max_length=200)
    async with env.db.write() as conn:
        if await reports.alert_event(conn, scope=actor.scope, event_id=alert_id) is None:
            raise NotFound(f"alert {alert_id}")
        target = f"event:{alert_id}"
        if await reports.acknowledgements(conn, action=ACK_ACTION, targets=[target]):
            raise Conflict("this alert is already acknowledged")
        await audit.record(conn, actor, ACK_ACTION, at=env.clock.now(), target=target, note=note)


async def send_command(
    env: Env,
    actor: Actor,
    gate_id: str,
    *,
    kind: str,
    reason: str | None = None,
    note: str | None = None,
    mode: str | None = None,
    sender: Any = None,
) -> str:
    """Send a signed command (``open_once`` with a reason, or ``set_mode``); its request id.

    Without the link there is no ``sender`` to publish with: always refused here."""
    del sender
    if kind == "open_once" and reason not in OPEN_REASONS:
        raise Invalid("choose a reason for opening the lane")
    if kind == "set_mode" and mode not in MODES:
        raise Invalid("unknown mode")
    async with env.db.read() as conn:
        if gate_id not in {g["id"] for g in await list_gates(conn, scope=actor.scope)}:
            raise NotFound(f"gate {gate_id}")
    raise Conflict("commands reach gates through the server's MQTT link, which is not running")
