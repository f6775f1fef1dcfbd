"""Request and response models of the gates at work: alerts, commands, health, policy,
events and dead letters."""

from __future__ import annotations

from pydantic import Field

from protocol.messages import CommandKind, Mode, OverrideReason
from server.api.types import (
    Note,
    Public,
    Reason,
    Strict,
)
from server.records import JSONObject
from server.services.gates.health import GateReport


class AlertOut(Public):
    """An alert: what, where, since when, how often, and who acknowledged it with what note."""

    id: int
    kind: str
    severity: str
    gate: str | None
    subject: str
    detail: JSONObject
    event_id: str | None
    first_at: int
    last_at: int
    count: int
    resolved_at: int | None
    acked_at: int | None
    acked_by: str | None
    ack_note: str | None


class AckIn(Strict):
    """What the staff member did about the alert."""

    note: Note  # required: an empty note is refused (422)


class CommandIn(Strict):
    """A command for one lane: ``reason`` for open_once, ``mode`` for set_mode."""

    kind: CommandKind
    reason: OverrideReason | None = None
    note: Reason | None = None
    mode: Mode | None = None


class CommandOut(Public):
    """A command as recorded, with the gate's answer once it came."""

    request_id: str
    gate: str
    kind: str
    mode: str | None
    reason: str | None
    note: str | None
    operator: str
    issued_at: int
    expires_at: int
    sent: bool
    outcome: str | None
    result_at: int | None
    detail: str | None


class DeviceOut(Public):
    """One peripheral's state as the lane last reported it."""

    name: str
    state: str
    detail: str | None = None
    since: int | None = None  # ms: when it entered this state (only once it has had an error)
    last_error: str | None = None


class LaneStatusOut(Public):
    """A lane's last retained status; ``since`` is when its state last changed."""

    gate: str
    state: str
    since: int
    at_ms: int
    boot_id: str
    software: str
    mode: str
    clock_trusted: bool
    outbox_depth: int
    outbox_floor_seq: int | None
    manifest_seq: int | None
    revocation_seq: int | None
    config_version: int | None
    devices: list[DeviceOut]
    received_at: int
    dead_letters: int


class IngestOut(Public):
    """A lane's ingest progress: every seq up to ``acked_seq`` is committed."""

    gate: str
    acked_seq: int
    max_seq: int
    events: int
    duplicates: int
    replays: int
    updated_at: int


class GapOut(Public):
    """Seqs a lane no longer holds and the server never received."""

    id: int
    gate: str
    from_seq: int
    to_seq: int
    detected_at: int


class VersionsOut(Public):
    """What the server publishes now, to compare with what the lane applied."""

    manifest_seq: int | None
    revocation_seq: int | None
    config_version: int | None


class GateHealthOut(Public):
    """A lane's liveness and health: its last status, ingest progress, gaps, open alerts."""

    id: str
    name: str
    zone_id: int
    direction: str
    status: LaneStatusOut | None
    ingest: IngestOut | None
    waiting: int
    gaps: list[GapOut]
    open_alerts: int
    current: VersionsOut

    @classmethod
    def of(cls, report: GateReport) -> GateHealthOut:
        """The API's view of the health service's report on one lane."""
        gate = report.gate
        return cls(
            id=gate.id,
            name=gate.name,
            zone_id=gate.zone_id,
            direction=gate.direction,
            status=None if report.status is None else LaneStatusOut.model_validate(report.status),
            ingest=None if report.ingest is None else IngestOut.model_validate(report.ingest),
            waiting=report.waiting,
            gaps=[GapOut.model_validate(g) for g in report.gaps],
            open_alerts=report.open_alerts,
            current=VersionsOut.model_validate(report.current),
        )


class PolicyIn(Strict):
    """Overrides of the site's default policy for one gate (keys of protocol Policy)."""

    overrides: JSONObject = Field(max_length=32)


class EventOut(Public):
    """A stored gate event (temperatures are health data, kept for the retention period)."""

    id: int
    event_id: str
    gate: str
    seq: int
    at_ms: int
    kind: str
    granted: bool | None
    reason: str | None
    pass_ref: str | None
    body_c: float | None
    temperatures: list[JSONObject] | None
    received_at: int
    boot_id: str | None
    clock_trusted: bool | None
    lane: str | None
    offline: bool | None
    mode: str | None
    alarm: str | None
    holder_kind: str | None  # the pass kind the gate read (resident, visitor, staff)
    operator: str | None
    note: str | None
    flag: str | None


class DeadLetterOut(Public):
    """A refused message; ``payload_hex`` only on the single-letter route."""

    id: int
    received_at: int
    topic: str
    gate: str | None
    reason: str
    detail: str
    size: int
    seq: int | None = None
    payload_hex: str | None = None
