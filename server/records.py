"""The server's typed records: what the store's queries return, one frozen struct per row shape.

A record mirrors a table (``Gate``, ``Resident``) or a query's joined row (``EventView``: an
event with its lane and its holder's unit); ``tests/server/test_store.py`` checks every table
record against its table's columns. They are the server's data vocabulary, below every layer:
the store builds them, services pass them on, the edges show them; this module imports nothing
of the server. Records are msgspec structs: built from a row in about a
tenth of a dataclass's time (ingest builds thousands a second), read by attribute, compared by
value, and turned into JSON by the API's response models (``from_attributes``). A copy with
changes is ``msgspec.structs.replace(record, field=value)``.
"""

from __future__ import annotations

from typing import Any

import msgspec

JSON = Any  # a JSON column: what the JSON type decodes (dict, list, str, number, bool, None)
JSONObject = dict[str, JSON]  # a JSON column that holds an object (details, overrides)


class Record(msgspec.Struct, frozen=True, kw_only=True):
    """Base of every record."""


# --- the registry's places and people ---------------------------------------------------------


class Site(Record, frozen=True, kw_only=True):
    """The one site this server runs."""

    id: str
    name: str
    created_at: int


class Zone(Record, frozen=True, kw_only=True):
    """A zone: its number is printed into passes."""

    id: int
    site_id: str
    name: str
    created_at: int


class Gate(Record, frozen=True, kw_only=True):
    """A gate (one lane) and the way it faces."""

    id: str
    zone_id: int
    name: str
    direction: str
    created_at: int


class Household(Record, frozen=True, kw_only=True):
    """A household; ``hold_until`` puts all of it under home observation."""

    id: int
    zone_id: int
    building: str
    unit: str
    room: str
    label: str
    hold_until: int | None
    created_at: int
    updated_at: int


class HouseholdMatch(Household, frozen=True, kw_only=True):
    """A household found by its label, and whether the label matched exactly."""

    exact: bool


class ResidentData(Record, frozen=True, kw_only=True):
    """A resident's row before the database numbers it (registration, imports)."""

    household_id: int
    name: str
    phone: str | None
    role: str
    status: str
    observation_start: int | None
    observation_end: int | None
    consent_version: str | None
    consent_at: int | None
    note: str | None
    created_at: int
    updated_at: int


class Resident(ResidentData, frozen=True, kw_only=True):
    """A resident with their household's zone and label."""

    id: int
    zone_id: int
    label: str


class Observation(Record, frozen=True, kw_only=True):
    """A resident's running home observation (for the revocation list's holds)."""

    id: int
    household_id: int
    observation_end: int | None


class ObservedResident(Record, frozen=True, kw_only=True):
    """A resident under home observation, as the follow-up call list shows them."""

    id: int
    name: str
    phone: str | None
    household_id: int
    status: str
    observation_start: int | None
    observation_end: int | None
    label: str
    zone_id: int
    hold_until: int | None


class Visitor(Record, frozen=True, kw_only=True):
    """A registered visitor with their host household's zone and label."""

    id: int
    host_household_id: int
    name: str
    phone: str
    purpose: str
    valid_from: int
    valid_until: int
    registered_by: int | None
    created_at: int
    zone_id: int
    label: str


class FollowupCall(Record, frozen=True, kw_only=True):
    """One call to a resident under home observation (health data)."""

    id: int
    resident_id: int
    at: int
    reached: bool
    temperature_c: float | None
    symptoms: list[str]
    note: str | None
    caller: str


class DeletionReceipt(Record, frozen=True, kw_only=True):
    """Proof that a person's data was erased, with a pseudonymous subject."""

    id: int
    at: int
    subject: str
    actor: str
    passes_revoked: int


# --- staff ------------------------------------------------------------------------------------


class Staff(Record, frozen=True, kw_only=True):
    """A staff account; ``zone_scope`` None means every zone."""

    id: int
    username: str
    display_name: str
    password_hash: str
    role: str
    zone_scope: list[int] | None
    active: bool
    must_change_password: bool
    generation: int
    created_at: int
    updated_at: int


class StoredSession(Record, frozen=True, kw_only=True):
    """A server-side session (its id only as a hash)."""

    id_hash: str
    staff_id: int
    generation: int
    csrf: str
    created_at: int
    last_seen: int


class LoginFailures(Record, frozen=True, kw_only=True):
    """Failed sign-ins counted for one throttling key."""

    key: str
    count: int
    window_start: int


class AuditEntry(Record, frozen=True, kw_only=True):
    """One row of the append-only audit log."""

    id: int
    at: int
    actor: str
    action: str
    target: str | None
    address: str | None
    detail: JSONObject


# --- passes and keys --------------------------------------------------------------------------


class HeldPass(Record, frozen=True, kw_only=True):
    """A pass without its secret parts (what a resident's data export shows)."""

    id: int
    ref: str
    kind: str
    resident_id: int | None
    visitor_id: int | None
    staff_id: int | None
    household_id: int | None
    zones: list[int]
    kid: str
    issued_by: str
    issued_at: int
    not_before: int
    expires: int
    revoked_at: int | None
    revoked_by: str | None
    revoke_reason: str | None
    renewed_from: str | None


class Pass(HeldPass, frozen=True, kw_only=True):
    """An issued pass: its random id and its text (wiped when the holder is erased)."""

    pass_id: bytes
    text: str | None


class PrintablePass(Pass, frozen=True, kw_only=True):
    """A live pass with its holder's name and unit label, for a card."""

    holder_name: str | None
    label: str | None


class PassHolder(Record, frozen=True, kw_only=True):
    """A live pass's ref and its resident (home-observation holds)."""

    ref: str
    resident_id: int


class HouseholdCutoff(Record, frozen=True, kw_only=True):
    """Every pass of the household issued before ``at`` is dead."""

    household_id: int
    at: int
    reason: str


class HouseholdHold(Record, frozen=True, kw_only=True):
    """A household under home observation until ``hold_until``."""

    id: int
    hold_until: int


class Key(Record, frozen=True, kw_only=True):
    """A signing key's public half and windows (the private half is a file)."""

    kid: str
    use: str
    public_raw: bytes
    file: str
    sign_from: int
    sign_until: int
    verify_until: int
    created_at: int
    retired_at: int | None


class PhoneKey(Record, frozen=True, kw_only=True):
    """A version of the phone-tag key (the key itself is a file)."""

    version: int
    file: str
    created_at: int
    retired_at: int | None


class Manifest(Record, frozen=True, kw_only=True):
    """A signed key manifest."""

    seq: int
    issued_at: int
    signed: bytes


# --- gates at work ----------------------------------------------------------------------------


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
