"""Gate liveness and health for staff (API, dashboard, console) and the link's periodic monitor.

Liveness comes from each gate's retained status: ``online`` at connect, its Last Will
``offline`` when the connection dies, ``stopping``/``offline`` on a clean stop. The monitor
turns time-based conditions into alerts: a gate offline for longer than
``gate_offline_after_s``, and a gate that has not applied the current revocation list
``revocation_stale_after_s`` after it was published; and the server's own broker session taken
over again and again (``session_takeover``, no gate).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from protocol.messages import Lifecycle
from server.records import Alert, Gate, IngestState, JSONObject, LaneStatus, SeqGap
from server.services.alerts import rules as alert_rules
from server.services.alerts.kinds import AlertKind
from server.services.alerts.raising import condition, ended
from server.services.context import Actor, Env
from server.services.errors import NotFound
from server.services.gates.broker_accounts import SERVER_ACCOUNT
from server.services.gates.publishing import MANIFEST, REVOCATIONS
from server.store import alerts as alert_store
from server.store import gate_state, registry
from server.store import ingest as ingest_store
from server.store import published as published_store
from server.store import reports as report_store

_DOWN = (Lifecycle.OFFLINE.value, Lifecycle.STOPPING.value)


@dataclass(frozen=True, slots=True)
class Versions:
    """What the server publishes now: the manifest, the revocation list, the gate's config."""

    manifest_seq: int | None
    revocation_seq: int | None
    config_version: int | None


@dataclass(frozen=True, slots=True)
class GateReport:
    """A lane's liveness and health for the API: its last status, ingest progress, gaps, open
    alerts, and the versions it should have applied."""

    gate: Gate
    status: LaneStatus | None
    ingest: IngestState | None
    waiting: int  # events committed above the contiguous seq (a hole waits below them)
    gaps: list[SeqGap]
    open_alerts: int
    current: Versions


@dataclass(frozen=True, slots=True)
class GateHealth:
    """What the staff pages show about one gate (lane)."""

    gate: Gate
    state: str = "unknown"  # online, offline, starting, stopping or unknown (never reported)
    mode: str | None = None
    last_contact_ms: int | None = None
    clock_trusted: bool | None = None
    outbox_depth: int | None = None
    dead_letters: int = 0  # events the lane holds refused (its own dead-letter table)
    devices: list[JSONObject] = field(default_factory=list)


async def gate_health(env: Env, actor: Actor, gate: str | None = None) -> list[GateReport]:
    """Every gate in the actor's zones (or one) with its status, ingest progress and alerts."""
    async with env.db.read() as conn:
        gates = await registry.list_gates(conn, scope=actor.scope)
        if gate is not None:
            gates = [g for g in gates if g.id == gate]
            if not gates:
                raise NotFound(f"gate {gate}")
        statuses = await gate_state.all_status(conn)
        ingest = await ingest_store.all_ingest(conn)
        configs = await gate_state.all_configs(conn)
        counts = await alert_store.open_counts(conn)
        manifest = await published_store.get_published(conn, name=MANIFEST)
        revocations = await published_store.get_published(conn, name=REVOCATIONS)
        reports = []
        for g in gates:
            progress = ingest.get(g.id)
            waiting = 0
            if progress is not None:
                waiting = await ingest_store.committed_above(
                    conn, gate=g.id, acked=progress.acked_seq
                )
            config = configs.get(g.id)
            current = Versions(
                manifest_seq=None if manifest is None else manifest.seq,
                revocation_seq=None if revocations is None else revocations.seq,
                config_version=None if config is None else config.version,
            )
            reports.append(
                GateReport(
                    gate=g,
                    status=statuses.get(g.id),
                    ingest=progress,
                    waiting=waiting,
                    gaps=await ingest_store.gaps(conn, gate=g.id, limit=5),
                    open_alerts=counts.get(g.id, 0),
                    current=current,
                )
            )
    return reports


async def lane_health(env: Env, actor: Actor) -> list[GateHealth]:
    """Every gate in the actor's zones as the pages show it: state, mode, clock, backlog,
    devices from its retained status, and its last contact (status or newest event)."""
    reports = await gate_health(env, actor)
    async with env.db.read() as conn:
        contact = await report_store.last_contact(conn, scope=actor.scope)
    out = []
    for report in reports:
        gate, status = report.gate, report.status
        if status is None:
            out.append(GateHealth(gate=gate, last_contact_ms=contact.get(gate.id) or None))
            continue
        heard = max(status.received_at * 1000, contact.get(gate.id, 0)) or None
        out.append(
            GateHealth(
                gate=gate,
                state=status.state,
                mode=status.mode,
                last_contact_ms=heard,
                clock_trusted=status.clock_trusted,
                outbox_depth=status.outbox_depth,
                dead_letters=status.dead_letters,
                devices=list(status.devices),
            )
        )
    return out


async def lane(env: Env, actor: Actor, gate_id: str) -> GateHealth:
    """One lane in the actor's zones with its health; NotFound for any other."""
    for health in await lane_health(env, actor):
        if health.gate.id == gate_id:
            return health
    raise NotFound(f"gate {gate_id}")


async def monitor(env: Env) -> list[Alert]:
    """Raise or end the time-based conditions for every registered gate; returns new alerts."""
    now = env.clock.now()
    s = env.settings
    raised: list[Alert | None] = []
    async with env.db.write() as conn:
        gates = {g.id for g in await registry.list_gates(conn, scope=None)}
        revocations = await published_store.get_published(conn, name=REVOCATIONS)
        for gate, status in (await gate_state.all_status(conn)).items():
            if gate not in gates:
                continue
            if status.state in _DOWN and status.since <= now - s.gate_offline_after_s:
                offline = AlertKind.GATE_OFFLINE
                raised.append(
                    await condition(conn, offline, gate=gate, now=now, since=status.since)
                )
            if status.state != Lifecycle.ONLINE.value or revocations is None:
                continue
            applied = status.revocation_seq
            behind = applied is None or applied < revocations.seq
            overdue = revocations.published_at <= now - s.revocation_stale_after_s
            if behind and overdue:
                stale = AlertKind.REVOCATION_STALE
                raised.append(
                    await condition(
                        conn, stale, gate=gate, now=now, applied=applied, current=revocations.seq
                    )
                )
            elif not behind:
                await ended(conn, AlertKind.REVOCATION_STALE, gate=gate, now=now)
    return [a for a in raised if a is not None]


async def own_session(env: Env, takeovers: int) -> list[Alert]:
    """Hold ``session_takeover`` for the server's own broker session (no gate, subject
    "server") from its takeovers in the last 10 minutes; returns a new alert."""
    async with env.db.write() as conn:
        alert = await alert_rules.on_takeovers(
            conn, takeovers, gate=None, subject=SERVER_ACCOUNT, now=env.clock.now()
        )
    return [] if alert is None else [alert]
