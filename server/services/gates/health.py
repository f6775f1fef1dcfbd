"""Gate liveness and health for staff (dashboard, console) and the link's periodic monitor.

Liveness comes from each gate's retained status: ``online`` at connect, its Last Will
``offline`` when the connection dies, ``stopping``/``offline`` on a clean stop. The monitor
turns time-based conditions into alerts: a gate offline for longer than
``gate_offline_after_s``, and a gate that has not applied the current revocation list
``revocation_stale_after_s`` after it was published.
"""

from __future__ import annotations

from typing import Any

from protocol.messages import Lifecycle
from server.services.alerts.raising import AlertKind, condition, ended
from server.services.context import Actor, Env
from server.services.errors import NotFound
from server.services.gates.publishing import MANIFEST, REVOCATIONS
from server.store import alerts as alert_store
from server.store import ingest as ingest_store
from server.store import link as link_store
from server.store import registry

_DOWN = (Lifecycle.OFFLINE.value, Lifecycle.STOPPING.value)


async def gate_health(env: Env, actor: Actor, gate: str | None = None) -> list[dict[str, Any]]:
    """Every gate in the actor's zones (or one) with its status, ingest progress and alerts."""
    async with env.db.read() as conn:
        gates = await registry.list_gates(conn, scope=actor.scope)
        if gate is not None:
            gates = [g for g in gates if g["id"] == gate]
            if not gates:
                raise NotFound(f"gate {gate}")
        statuses = await link_store.all_status(conn)
        ingest = await ingest_store.all_ingest(conn)
        configs = await link_store.all_configs(conn)
        counts = await alert_store.open_counts(conn)
        manifest = await link_store.get_published(conn, name=MANIFEST)
        revocations = await link_store.get_published(conn, name=REVOCATIONS)
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


async def monitor(env: Env) -> list[dict[str, Any]]:
    """Raise or end the time-based conditions for every registered gate; returns new alerts."""
    now = env.clock.now()
    s = env.settings
    raised: list[dict[str, Any] | None] = []
    async with env.db.write() as conn:
        gates = {g["id"] for g in await registry.list_gates(conn, scope=None)}
        revocations = await link_store.get_published(conn, name=REVOCATIONS)
        for gate, status in (await link_store.all_status(conn)).items():
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
