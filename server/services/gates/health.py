"""Gate liveness and health for staff (API, dashboard, console) and the link's periodic monitor.

Liveness comes from each gate's retained status: ``online`` at connect, its Last Will
``offline`` when the connection dies, ``stopping``/``offline`` on a clean stop. The monitor
turns time-based conditions into alerts: a gate offline for longer than
``gate_offline_after_s``, and a gate that has not applied the current revocation list
``revocation_stale_after_s`` after it was published.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from protocol.messages import Lifecycle
from server.services.alerts.kinds import AlertKind
from server.services.alerts.raising import condition, ended
from server.services.context import Actor, Env
from server.services.errors import NotFound
from server.services.gates.publishing import MANIFEST, REVOCATIONS
from server.store import alerts as alert_store
from server.store import gate_state, registry
from server.store import ingest as ingest_store
from server.store import published as published_store
from server.store import reports as report_store

_DOWN = (Lifecycle.OFFLINE.value, Lifecycle.STOPPING.value)


@dataclass(frozen=True, slots=True)
class GateHealth:
    """What the staff pages show about one gate (lane)."""

    gate: dict[str, Any]
    state: str = "unknown"  # online, offline, starting, stopping or unknown (never reported)
    mode: str | None = None
    last_contact_ms: int | None = None
    clock_trusted: bool | None = None
    outbox_depth: int | None = None
    devices: list[dict[str, Any]] = field(default_factory=list)


async def gate_health(env: Env, actor: Actor, gate: str | None = None) -> list[dict[str, Any]]:
    """Every gate in the actor's zones (or one) with its status, ingest progress and alerts."""
    async with env.db.read() as conn:
        gates = await registry.list_gates(conn, scope=actor.scope)
        if gate is not None:
            gates = [g for g in gates if g["id"] == gate]
            if not gates:
                raise NotFound(f"gate {gate}")
        statuses = await gate_state.all_status(conn)
        ingest = await ingest_store.all_ingest(conn)
        configs = await gate_state.all_configs(conn)
        counts = await alert_store.open_counts(conn)
        manifest = await published_store.get_published(conn, name=MANIFEST)
        revocations = await published_store.get_published(conn, name=REVOCATIONS)
        rows = []
        for g in gates:
            progress = ingest.get(g["id"])
            waiting = 0 if progress is None else await ingest_store.committed_above(
                conn, gate=g["id"], acked=progress["acked_seq"]
            )  # fmt: skip
            rows.append({
                **g, "status": statuses.get(g["id"]), "ingest": progress, "waiting": waiting,
                "gaps": await ingest_store.gaps(conn, gate=g["id"], limit=5),
                "open_alerts": counts.get(g["id"], 0),
                "current": {
                    "manifest_seq": None if manifest is None else manifest["seq"],
                    "revocation_seq": None if revocations is None else revocations["seq"],
                    "config_version": (configs.get(g["id"]) or {}).get("version"),
                },
            })  # fmt: skip
    return rows


async def lane_health(env: Env, actor: Actor) -> list[GateHealth]:
    """Every gate in the actor's zones as the pages show it: state, mode, clock, backlog,
    devices from its retained status, and its last contact (status or newest event)."""
    rows = await gate_health(env, actor)
    async with env.db.read() as conn:
        contact = await report_store.last_contact(conn, scope=actor.scope)
    out = []
    for row in rows:
        status = row["status"] or {}
        heard = max(status.get("received_at", 0) * 1000, contact.get(row["id"], 0)) or None
        out.append(
            GateHealth(
                gate={k: row[k] for k in ("id", "name", "zone_id", "direction")},
                state=status.get("state", "unknown"),
                mode=status.get("mode"),
                last_contact_ms=heard,
                clock_trusted=status.get("clock_trusted"),
                outbox_depth=status.get("outbox_depth"),
                devices=list(status.get("devices", [])),
            )
        )
    return out


async def lane(env: Env, actor: Actor, gate_id: str) -> GateHealth:
    """One lane in the actor's zones with its health; NotFound for any other."""
    for health in await lane_health(env, actor):
        if health.gate["id"] == gate_id:
            return health
    raise NotFound(f"gate {gate_id}")


async def monitor(env: Env) -> list[dict[str, Any]]:
    """Raise or end the time-based conditions for every registered gate; returns new alerts."""
    now = env.clock.now()
    s = env.settings
    raised: list[dict[str, Any] | None] = []
    async with env.db.write() as conn:
        gates = {g["id"] for g in await registry.list_gates(conn, scope=None)}
        revocations = await published_store.get_published(conn, name=REVOCATIONS)
        for gate, status in (await gate_state.all_status(conn)).items():
            if gate not in gates:
                continue
            if status["state"] in _DOWN and status["since"] <= now - s.gate_offline_after_s:
                raised.append(await condition(
                    conn, AlertKind.GATE_OFFLINE, gate=gate, now=now, since=status["since"]
                ))  # fmt: skip
            if status["state"] != Lifecycle.ONLINE.value or revocations is None:
                continue
            applied = status["revocation_seq"]
            behind = applied is None or applied < revocations["seq"]
            overdue = revocations["published_at"] <= now - s.revocation_stale_after_s
            if behind and overdue:
                raised.append(await condition(
                    conn, AlertKind.REVOCATION_STALE, gate=gate, now=now,
                    applied=status["revocation_seq"], current=revocations["seq"],
                ))  # fmt: skip
            elif not behind:
                await ended(conn, AlertKind.REVOCATION_STALE, gate=gate, now=now)
    return [a for a in raised if a is not None]
