"""The MQTT link as the staff UI sees it (through server.web.links): five calls and their shapes.

Health comes from each gate's retained status (plus the newest stored event as last contact),
alerts from the alerts table (acknowledged with a note, audited), commands are signed and
published through the lifespan's link (``request.state.link``) by server.services.gates.commands,
which also decides who may send what. Must not import fastapi or anything of server.web.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from protocol.messages import CommandKind, Mode, OverrideReason
from server.services.alerts import raising as alert_service
from server.services.context import Actor, Env
from server.services.errors import Invalid, NotFound
from server.services.gates import commands as gate_commands
from server.services.gates import health as health_service
from server.store import reports
from server.store.query import Page
from server.store.schema import events

__all__ = ["MODES", "OPEN_REASONS", "GateHealth", "acknowledge_alert", "alerts", "gate_health",
           "recent_commands", "send_command"]  # fmt: skip
MAX_ALERTS = 100
# the console's short list of reasons is the protocol's, so a gate can never be sent one it lacks
OPEN_REASONS = tuple(r.value for r in OverrideReason)
# what the console switches between; maintenance is set on the gate itself, not from a tablet
MODES = (Mode.NORMAL.value, Mode.LOCKDOWN.value, Mode.FREE_PASSAGE.value)


@dataclass(frozen=True, slots=True)
class GateHealth:
    """What the pages show about one gate (lane)."""

    gate: dict[str, Any]
    state: str = "unknown"  # online, offline, starting, stopping or unknown (never reported)
    mode: str | None = None
    last_contact_ms: int | None = None
    clock_trusted: bool | None = None
    outbox_depth: int | None = None
    devices: list[dict[str, Any]] = field(default_factory=list)


async def gate_health(env: Env, actor: Actor) -> list[GateHealth]:
    """Every gate in the actor's zones: state, mode, clock, backlog and devices from its status."""
    rows = await health_service.gate_health(env, actor)
    async with env.db.read() as conn:
        contact = await reports.last_contact(conn, scope=actor.scope)
    out = []
    for row in rows:
        status = row["status"] or {}
        heard = max(status.get("received_at", 0) * 1000, contact.get(row["id"], 0)) or None
        gate = {k: row[k] for k in ("id", "name", "zone_id", "direction")}
        out.append(GateHealth(
            gate=gate, state=status.get("state", "unknown"), mode=status.get("mode"),
            last_contact_ms=heard, clock_trusted=status.get("clock_trusted"),
            outbox_depth=status.get("outbox_depth"), devices=list(status.get("devices", [])),
        ))  # fmt: skip
    return out


async def _event(env: Env, actor: Actor, event_id: str | None) -> dict[str, Any] | None:
    """The alert's event as the UI's scan card shows it (unit, masked name, lane name)."""
    if event_id is None:
        return None
    async with env.db.read() as conn:
        row_id = await conn.scalar(sa.select(events.c.id).where(events.c.event_id == event_id))
        if row_id is None:
            return None
        return await reports.event_in_scope(conn, scope=actor.scope, event_row=int(row_id))


async def alerts(env: Env, actor: Actor, *, open_only: bool = True) -> list[dict[str, Any]]:
    """Alerts in the actor's zones, newest first, shaped for the dashboard."""
    page = Page(1, MAX_ALERTS, "last_at", True)
    rows, _total = await alert_service.list_alerts(
        env, actor, page, state="open" if open_only else "all"
    )
    names = {g.gate["id"]: g.gate["name"] for g in await gate_health(env, actor)}
    return [
        {
            "id": str(r["id"]),
            "kind": r["kind"],
            "gate": r["gate"],
            "gate_name": names.get(r["gate"] or ""),
            "at_ms": r["last_at"] * 1000,
            "event": await _event(env, actor, r["event_id"]),
            "acked": r["acked_at"] is not None,
            "acked_by": r["acked_by"],
            "ack_note": r["ack_note"],
            "count": r["count"],
            "severity": r["severity"],
            "resolved": r["resolved_at"] is not None,
        }
        for r in rows
    ]


async def acknowledge_alert(env: Env, actor: Actor, alert_id: str, note: str) -> None:
    """Mark an alert handled with what was done (audited)."""
    if not alert_id.isdigit():
        raise NotFound(f"alert {alert_id[:20]}")
    await alert_service.acknowledge(env, actor, int(alert_id), note)


async def recent_commands(
    env: Env, actor: Actor, gate_id: str, *, limit: int = 5
) -> list[dict[str, Any]]:
    """The lane's newest commands with the gate's answers (``outcome`` None until it answers),
    so the person who tapped sees whether the gate did it."""
    page = Page(1, limit, "issued_at", True)
    rows, _total = await gate_commands.list_commands(env, actor, page, gate=gate_id)
    return rows


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
    """Sign and publish ``open_once`` (with a reason) or ``set_mode``; returns the request id."""
    if kind == "open_once" and reason not in OPEN_REASONS:
        raise Invalid("choose a reason for opening the lane")
    if kind == "set_mode" and mode not in MODES:
        raise Invalid("unknown mode")
    try:
        command_kind = CommandKind(kind)
    except ValueError:
        raise Invalid(f"unknown command {kind[:20]!r}") from None
    row = await gate_commands.send(
        env, sender, actor, gate_id, command_kind,
        reason=None if reason is None else OverrideReason(reason), note=note,
        mode=None if mode is None else Mode(mode),
    )  # fmt: skip
    return str(row["request_id"])
