"""The one adapter between the staff UI and the server's MQTT link (issue 6).

The gate console and the dashboard need five things from the link: each gate's health, the
open alerts, acknowledging an alert with a note, sending a signed command to a gate (open
the lane once with a reason; set the mode to lockdown, free passage or normal), and the lane's
recent commands with the gate's answers. Pages call only
the functions below. Each delegates in one line to ``link``, server.services.link_ui: gate
status as each gate retains it on the broker, the alerts table, and commands signed and published
through the lifespan's broker link (None when the server runs without a broker: then every
command is refused with a Conflict the console shows).
"""

from __future__ import annotations

from typing import Any

from server.services import link_ui as link
from server.services.context import Actor, Env
from server.services.link_ui import MODES, OPEN_REASONS, GateHealth

__all__ = ["MODES", "OPEN_REASONS", "GateHealth", "acknowledge_alert", "alerts", "gate_health",
           "recent_commands", "send_command"]  # fmt: skip


async def gate_health(env: Env, actor: Actor) -> list[GateHealth]:
    """Every gate (lane) in the actor's zones with its state, mode, devices and last contact."""
    return await link.gate_health(env, actor)


async def alerts(env: Env, actor: Actor, *, open_only: bool = True) -> list[dict[str, Any]]:
    """Alerts in the actor's zones, newest first (id, kind, gate, gate_name, at_ms, event,
    acked, acked_by, ack_note, count, severity, resolved); only unacknowledged ones by default."""
    return await link.alerts(env, actor, open_only=open_only)


async def acknowledge_alert(env: Env, actor: Actor, alert_id: str, note: str) -> None:
    """Mark an alert handled, with what was done (audited)."""
    await link.acknowledge_alert(env, actor, alert_id, note)


async def recent_commands(env: Env, actor: Actor, gate_id: str) -> list[dict[str, Any]]:
    """The lane's newest commands, each with the gate's answer once it came (``outcome``)."""
    return await link.recent_commands(env, actor, gate_id)


async def send_command(
    env: Env, actor: Actor, gate_id: str, *, kind: str, reason: str | None = None,
    note: str | None = None, mode: str | None = None, sender: Any = None,
) -> str:  # fmt: skip
    """Send a signed command to a gate (``open_once`` with a reason, or ``set_mode``); returns
    its request id. ``sender`` is the lifespan's broker link (``request.state.link``) if any."""
    return await link.send_command(env, actor, gate_id, kind=kind, reason=reason, note=note,
                                   mode=mode, sender=sender)  # fmt: skip
