"""Records of the gates at work: events, ingest progress, statuses, alerts, commands,
config versions, broker accounts and what was published to the gates."""

from __future__ import annotations

from server.records.base import JSONObject, Record


class EventData(Record, frozen=True, kw_only=True):
    """A gate event as ingest stores it (the row before the database numbers it)."""

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
    holder_kind: str | None
    operator: str | None
    note: str | None
    flag: str | None


class Event(EventData, frozen=True, kw_only=True):
    """A stored gate event."""

    id: int


class EventView(Event, frozen=True, kw_only=True):
    """A stored event with its lane, and the kind, holder and unit of the pass it names."""

    gate_name: str | None
    direction: str | None
    zone_id: int | None
    pass_kind: str | None
    holder_name: str | None
    label: str | None


class Refusal(Record, frozen=True, kw_only=True):
    """A stored refusal of a pass (repeated-refusal alerts)."""

    event_id: str
    pass_ref: str
    at_ms: int


class Grant(Record, frozen=True, kw_only=True):
    """A stored grant of a pass with its lane's zone and direction (impossible travel)."""

    event_id: str
    pass_ref: str
    gate: str
    at_ms: int
    zone_id: int | None
    direction: str | None


class IngestState(Record, frozen=True, kw_only=True):
    """A gate's ingest progress: every seq up to ``acked_seq`` is committed."""

    gate: str
    acked_seq: int
    max_seq: int
    events: int
    duplicates: int
    replays: int
    updated_at: int


class LaneStatus(Record, frozen=True, kw_only=True):
    """A gate's last retained status as stored; ``since`` is when ``state`` last changed."""

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
    devices: list[JSONObject]
    received_at: int
    dead_letters: int = 0  # events the gate holds in its own dead-letter table


class SeqGap(Record, frozen=True, kw_only=True):
    """Seqs a gate no longer holds and the server never received."""

    id: int
    gate: str
    from_seq: int
    to_seq: int
    detected_at: int


class DeadLetter(Record, frozen=True, kw_only=True):
    """A message ingest refused; ``payload`` only when asked for one letter."""

    id: int
    received_at: int
    topic: str
    gate: str | None
    reason: str
    detail: str
    size: int
    seq: int | None = None  # a refused event's seq, when known (its gate was told)
    payload: bytes | None = None


class Alert(Record, frozen=True, kw_only=True):
    """An alert: what, where, since when, how often, and who acknowledged it."""

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


class SentCommand(Record, frozen=True, kw_only=True):
    """A signed command as recorded, with the gate's answer once it came."""

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


class ConfigVersion(Record, frozen=True, kw_only=True):
    """The config version a gate was last sent, and its policy overrides."""

    gate: str
    version: int
    fingerprint: str
    issued_at: int
    policy: JSONObject


class BrokerAccount(Record, frozen=True, kw_only=True):
    """A broker account: the server's or a gate's, as a mosquitto_passwd hash line."""

    username: str
    role: str
    hash_line: str
    created_at: int
    updated_at: int


class Published(Record, frozen=True, kw_only=True):
    """The last signed message published under ``name`` (manifest, revocations)."""

    name: str
    seq: int
    issued_at: int
    payload: bytes
    body: bytes | None
    published_at: int


class ZonePolicy(Record, frozen=True, kw_only=True):
    """A zone's policy overrides, applied to every lane of the zone under the lane's own."""

    zone_id: int
    policy: JSONObject
    updated_at: int
    updated_by: str
