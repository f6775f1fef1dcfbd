"""Payload models for every topic, each with a ``schema`` version, decoded strictly.

Gate-to-server messages (status, events, command results, time requests) and acks are compact
JSON; what the server tells a gate to *do* or *trust* (config, commands, the time) is signed
CBOR (protocol.signed), as are the manifest and revocation lists (their own modules).
Decoding refuses unknown fields, wrong types, NaN and infinities, out-of-range values and
payloads over the topic's cap, each with its own MessageError subclass.

Times: JSON messages carry unix milliseconds (``at``); signed CBOR carries unix seconds, as
CWT does.

What a gate commits to its outbox has been decoded back first (``encode_checked``): an event
the server's decoder would refuse is never sent. What the server must refuse all the same (a
newer gate, an older server, a row the SD card corrupted) it acknowledges as refused: the
``Ack`` names those seqs with a ``RefusalCode``, so one bad event never holds the others back.
An event sent again after a silence also carries its seq in an MQTT 5 user property
(``SEQ_PROPERTY``), so a payload that is not even JSON can be refused by seq.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Annotated, Literal, TypeVar

import msgspec

from protocol.cose import PrivateKey, PublicKey
from protocol.errors import MalformedMessage, WrongSiteMessage
from protocol.reasons import ReasonCode, RefusalCode
from protocol.schema import PRINTABLE_PATTERN, Id, Ms, UInt, decode_json, encode_json
from protocol.signed import open_sealed, seal
from protocol.topics import SPECS, TopicKind

__all__ = [
    "Ack",
    "AlarmKind",
    "ClockPolicy",
    "Command",
    "CommandKind",
    "CommandOutcome",
    "CommandResult",
    "DeviceHealth",
    "DeviceState",
    "EventKind",
    "GateConfig",
    "GateEvent",
    "GateStatus",
    "LaneDirection",
    "Lifecycle",
    "Mode",
    "OverrideReason",
    "PeerPresence",
    "PhoneCheck",
    "Policy",
    "Refusal",
    "ServerStatus",
    "TemperatureReading",
    "TimeAnswer",
    "TimeRequest",
    "decode",
    "encode",
    "encode_checked",
    "event_seq",
    "open_command",
    "open_config",
    "open_time",
    "seal_command",
    "seal_config",
    "seal_time",
    "seq_from_properties",
    "seq_property",
]

M = TypeVar("M", bound=msgspec.Struct)

UUID_PATTERN = r"\A[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z"
Uuid = Annotated[str, msgspec.Meta(pattern=UUID_PATTERN)]
Hex32 = Annotated[str, msgspec.Meta(pattern=r"\A[0-9a-f]{32}\Z")]
PassRef = Annotated[str, msgspec.Meta(pattern=r"\A[0-9a-f]{16}\Z")]
# Free text: no control characters (log injection) or bidi overrides (spoofing), bounded.
Text = Annotated[str, msgspec.Meta(pattern=PRINTABLE_PATTERN, max_length=200)]
ShortText = Annotated[str, msgspec.Meta(pattern=PRINTABLE_PATTERN, max_length=64)]
Celsius = Annotated[float, msgspec.Meta(ge=-70.0, le=380.0)]
Offset = Annotated[float, msgspec.Meta(ge=-10.0, le=10.0)]
Seq = Annotated[int, msgspec.Meta(ge=1, le=2**53)]
MAX_REFUSED = 40  # refusals in one ack (more go in the next): well inside the ack's 4 KiB
SEQ_PROPERTY = "gatepass-seq"  # the MQTT 5 user property with an event's seq
MAX_PEERS = 32  # the lanes of one zone whose presence a gate hears
MAX_WEEKDAY_WINDOWS = 28  # four windows on each day of the week
Minute = Annotated[int, msgspec.Meta(ge=0, le=1440)]
Weekday = Annotated[int, msgspec.Meta(ge=0, le=6)]
WeekdayWindow = tuple[Weekday, Minute, Minute]
Percent = Annotated[int, msgspec.Meta(ge=0, le=100)]
QuietWindow = tuple[Minute, Minute]
MAX_QUIET_WINDOWS = 4
DEFAULT_VOLUME = 80
DEFAULT_QUIET_VOLUME = 30


class _Model(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Base for all payloads: immutable, unknown fields refused."""


class Mode(StrEnum):
    """The gate's operating mode (design.md 4.2)."""

    NORMAL = "normal"
    LOCKDOWN = "lockdown"
    FREE_PASSAGE = "free_passage"
    MAINTENANCE = "maintenance"


class LaneDirection(StrEnum):
    """Which way a lane lets people through."""

    IN = "in"
    OUT = "out"


class Lifecycle(StrEnum):
    """Where the gate daemon is in its life; ``offline`` is also the Last Will."""

    STARTING = "starting"
    ONLINE = "online"
    STOPPING = "stopping"
    OFFLINE = "offline"


class DeviceState(StrEnum):
    """Health of one peripheral."""

    OK = "ok"
    OFFLINE = "offline"
    FAULT = "fault"
    DISABLED = "disabled"


class EventKind(StrEnum):
    """A decision at the lane, or an alarm the gate raises."""

    DECISION = "decision"
    ALARM = "alarm"


class AlarmKind(StrEnum):
    """Alarms a gate raises; append-only like reason codes."""

    FEVER_CONFIRMED = "fever_confirmed"
    SUSPECTED_LENDING = "suspected_lending"
    APB_CONFLICT = "apb_conflict"
    DOOR_FORCED = "door_forced"
    DOOR_HELD_OPEN = "door_held_open"
    DEVICE_OFFLINE = "device_offline"
    DEVICE_RECOVERED = "device_recovered"
    OUTBOX_HIGH = "outbox_high"
    OUTBOX_FULL = "outbox_full"
    STORE_CORRUPT = "store_corrupt"
    CLOCK_UNTRUSTED = "clock_untrusted"
    REGISTRY_STALE = "registry_stale"
    MODE_CHANGED = "mode_changed"


class OverrideReason(StrEnum):
    """Why staff opened a lane by hand (the console's short list)."""

    REGISTERED_BY_HAND = "registered_by_hand"
    NO_SMARTPHONE = "no_smartphone"
    DEVICE_FAULT = "device_fault"
    EMERGENCY = "emergency"
    OTHER = "other"


class LaneLanguage(StrEnum):
    """The language a lane speaks and shows (protocol/wording has a catalog for each)."""

    ZH_CN = "zh-CN"
    EN = "en"


class PhoneCheck(StrEnum):
    """When a gate asks for the last four phone digits."""

    NEVER = "never"
    SAMPLED = "sampled"
    ALWAYS = "always"


class ClockPolicy(StrEnum):
    """What a gate does while its clock is not trusted."""

    DEGRADED = "degraded"  # admit residents with phone digits, refuse visitors
    DENY = "deny"  # refuse everyone but staff overrides


class CommandKind(StrEnum):
    """What the server can ask a gate to do."""

    OPEN_ONCE = "open_once"
    SET_MODE = "set_mode"
    RESYNC = "resync"


class CommandOutcome(StrEnum):
    """How a gate answered a command."""

    DONE = "done"
    REFUSED = "refused"
    EXPIRED = "expired"
    REPLAYED = "replayed"
    INVALID = "invalid"


class DeviceHealth(_Model, frozen=True, kw_only=True):
    """One peripheral's state in a status report."""

    name: Id
    state: DeviceState
    detail: Annotated[str, msgspec.Meta(pattern=PRINTABLE_PATTERN, max_length=128)] | None = None
    # When the device entered ``state`` (gate's wall clock, ms) and the last error it reported
    # (kept after it recovers). Both unset (left out of the JSON) for a device that has been ok
    # since the gate started, so a server of before still reads a healthy gate's status.
    since: Ms | msgspec.UnsetType = msgspec.UNSET
    last_error: (
        Annotated[str, msgspec.Meta(pattern=PRINTABLE_PATTERN, max_length=128)] | msgspec.UnsetType
    ) = msgspec.UNSET


class GateStatus(_Model, frozen=True, kw_only=True):
    """Retained per-gate status; its ``offline`` form is the Last Will."""

    schema: Literal[1] = 1
    site: Id
    gate: Id
    state: Lifecycle
    at: Ms
    boot_id: Hex32
    software: ShortText
    mode: Mode
    clock_trusted: bool
    outbox_depth: UInt
    # Every seq below this is no longer held by the gate (acked, refused, or lost with a corrupt
    # store), so the server can move its contiguous ack past a gap instead of waiting forever.
    outbox_floor_seq: UInt | None = None
    # Events the gate holds in its dead-letter table (refused by the server or by its own check
    # before the commit); unset (left out of the JSON) while there are none, so a server of the
    # previous version still reads the status of a gate that has none.
    dead_letters: UInt | msgspec.UnsetType = msgspec.UNSET
    # Times another connection with the gate's own account took its broker session over in the
    # last 10 minutes (protocol.takeovers); unset while none, for the same reason.
    takeovers: UInt | msgspec.UnsetType = msgspec.UNSET
    manifest_seq: UInt | None = None
    revocation_seq: UInt | None = None
    config_version: UInt | None = None
    devices: Annotated[list[DeviceHealth], msgspec.Meta(max_length=16)] = []


class TemperatureReading(_Model, frozen=True, kw_only=True):
    """One thermometer reading as measured: nothing is invented or rounded away."""

    object_c: Celsius
    ambient_c: Celsius
    offset_c: Offset
    body_c: Celsius


class GateEvent(_Model, frozen=True, kw_only=True):
    """A decision or an alarm, recorded in the gate's outbox before anything else happens."""

    schema: Literal[1] = 1
    kind: EventKind
    event_id: Uuid
    site: Id
    gate: Id
    seq: Seq
    boot_id: Hex32
    at: Ms
    clock_trusted: bool
    lane: LaneDirection
    offline: bool
    mode: Mode = Mode.NORMAL
    granted: bool | None = None
    reason: ReasonCode | None = None
    alarm: AlarmKind | None = None
    pass_ref: PassRef | None = None
    pass_kind: Literal["resident", "visitor", "staff"] | None = None
    temperatures: Annotated[list[TemperatureReading], msgspec.Meta(max_length=5)] = []
    operator: ShortText | None = None
    note: Text | None = None

    def __post_init__(self) -> None:
        """A decision has an outcome and a reason; an alarm names its kind."""
        if self.kind == EventKind.DECISION and (self.granted is None or self.reason is None):
            raise ValueError("a decision event needs granted and reason")
        if self.kind == EventKind.ALARM and self.alarm is None:
            raise ValueError("an alarm event needs its alarm kind")


class Refusal(_Model, frozen=True, kw_only=True):
    """One event the server will never store, and why."""

    seq: Seq
    reason: RefusalCode


class Ack(_Model, frozen=True, kw_only=True):
    """The server's application-level ack: every seq up to ``seq`` is settled, stored or
    refused; ``refused`` names the refused ones (the gate keeps those as dead letters).

    ``refused`` is unset (left out of the JSON) when there are none, so an ordinary ack is the
    same bytes to a gate of the previous version. Such a gate refuses an ack with refusals (an
    unknown field); the server therefore follows one with the same ack without them, and the
    old gate lets the refused rows go like acked ones (the server keeps them as dead letters)."""

    schema: Literal[1] = 1
    site: Id
    gate: Id
    seq: UInt
    at: Ms
    refused: (
        Annotated[list[Refusal], msgspec.Meta(min_length=1, max_length=MAX_REFUSED)]
        | msgspec.UnsetType
    ) = msgspec.UNSET

    def __post_init__(self) -> None:
        """A refused seq is settled, so it is never above the ack's own seq."""
        if any(r.seq > self.seq for r in self.refused or ()):
            raise ValueError("a refused seq above the acked seq")


class CommandResult(_Model, frozen=True, kw_only=True):
    """A gate's answer to a command."""

    schema: Literal[1] = 1
    site: Id
    gate: Id
    request_id: Uuid
    at: Ms
    outcome: CommandOutcome
    detail: Text | None = None


class PeerPresence(_Model, frozen=True, kw_only=True):
    """A pass let through at a lane, told to the peer lanes its config names (anti-passback).

    Only what anti-passback needs: no temperature, no alarm, no name. A receiver takes it only
    from a peer its own signed config names, never retained, with ``at`` clamped to its clock.
    """

    schema: Literal[1] = 1
    site: Id
    gate: Id
    pass_ref: PassRef
    lane: LaneDirection
    at: Ms


class ServerStatus(_Model, frozen=True, kw_only=True):
    """The server's retained status; its ``offline`` form is the server's Last Will."""

    schema: Literal[1] = 1
    site: Id
    state: Lifecycle
    at: Ms
    software: ShortText


class Policy(_Model, frozen=True, kw_only=True):
    """A gate's decision policy; defaults are the documented site defaults."""

    fever_threshold_c: Annotated[float, msgspec.Meta(ge=35.0, le=40.0)] = 37.3
    plausible_min_c: Annotated[float, msgspec.Meta(ge=30.0, le=36.0)] = 34.0
    plausible_max_c: Annotated[float, msgspec.Meta(ge=38.0, le=45.0)] = 43.0
    retests: Annotated[int, msgspec.Meta(ge=0, le=3)] = 1
    temperature_required: bool = True
    phone_check_resident: PhoneCheck = PhoneCheck.SAMPLED
    phone_check_staff: PhoneCheck = PhoneCheck.NEVER
    phone_sample_percent: Annotated[int, msgspec.Meta(ge=0, le=100)] = 10
    phone_attempts: Annotated[int, msgspec.Meta(ge=1, le=5)] = 3
    apb_minutes: Annotated[int, msgspec.Meta(ge=0, le=1440)] = 10
    apb_logical: bool = True
    fever_overridable: bool = False
    relay_pulse_ms: Annotated[int, msgspec.Meta(ge=200, le=30000)] = 3000
    step_timeout_s: Annotated[int, msgspec.Meta(ge=2, le=120)] = 20
    door_held_open_s: Annotated[int, msgspec.Meta(ge=5, le=600)] = 30
    revocation_grace_s: Annotated[int, msgspec.Meta(ge=0, le=30 * 86400)] = 86400
    degraded_visitor_max_age_s: Annotated[int, msgspec.Meta(ge=0, le=86400)] = 6 * 3600
    clock_policy: ClockPolicy = ClockPolicy.DEGRADED
    utc_offset_minutes: Annotated[int, msgspec.Meta(ge=-720, le=840)] = 480  # China Standard Time
    staff_attribution_s: Annotated[int, msgspec.Meta(ge=0, le=600)] = 60
    open_windows: Annotated[
        list[
            Annotated[
                list[Annotated[int, msgspec.Meta(ge=0, le=1440)]],
                msgspec.Meta(min_length=2, max_length=2),
            ]
        ],
        msgspec.Meta(max_length=8),
    ] = []
    # Weekly hours: [weekday, start, end] in local minutes, weekday 0 = Monday ... 6 = Sunday.
    # A weekday named here opens only in its own windows (one empty window, e.g. [6, 0, 0],
    # closes it all day); the other days keep ``open_windows``. Left out while empty, so a
    # lane without weekly hours gets the bytes an older gate reads.
    weekday_windows: (
        Annotated[list[WeekdayWindow], msgspec.Meta(max_length=MAX_WEEKDAY_WINDOWS)]
        | msgspec.UnsetType
    ) = msgspec.UNSET

    # The lane's voice and display (issue 18), each left out while unset, so a lane that keeps
    # the defaults gets the bytes an older gate reads. Volume in percent of the clip's level;
    # quiet hours are [start, end] local minutes and may wrap past midnight ([1320, 360] is
    # 22:00-06:00); within them the lane speaks at ``quiet_volume`` (0: silent, text only).
    voice_volume: Percent | msgspec.UnsetType = msgspec.UNSET
    quiet_hours: (
        Annotated[list[QuietWindow], msgspec.Meta(max_length=MAX_QUIET_WINDOWS)] | msgspec.UnsetType
    ) = msgspec.UNSET
    quiet_volume: Percent | msgspec.UnsetType = msgspec.UNSET
    lane_language: LaneLanguage | msgspec.UnsetType = msgspec.UNSET

    def __post_init__(self) -> None:
        """A weekly window starts before (or at) its end: it never wraps past midnight."""
        if any(start > end for _day, start, end in self.weekday_list):
            raise ValueError("a weekday window ends before it starts")

    @property
    def volume(self) -> int:
        """The lane's voice volume in percent (80 unless set)."""
        return self.voice_volume if isinstance(self.voice_volume, int) else DEFAULT_VOLUME

    @property
    def quiet_volume_percent(self) -> int:
        """The volume within quiet hours (30 unless set)."""
        return self.quiet_volume if isinstance(self.quiet_volume, int) else DEFAULT_QUIET_VOLUME

    @property
    def quiet_list(self) -> list[QuietWindow]:
        """The quiet hours ([start, end] local minutes), empty when none are set."""
        return self.quiet_hours if isinstance(self.quiet_hours, list) else []

    @property
    def language(self) -> str:
        """The lane's language for its voice and display (Chinese unless set)."""
        return str(self.lane_language) if isinstance(self.lane_language, str) else "zh-CN"

    @property
    def weekday_list(self) -> list[WeekdayWindow]:
        """The weekly windows ([weekday, start, end]), empty when none are set."""
        return self.weekday_windows if isinstance(self.weekday_windows, list) else []


class GateConfig(_Model, frozen=True, kw_only=True):
    """Signed per-gate configuration; applied only if its version is newer."""

    schema: Literal[1] = 1
    site: Id
    gate: Id
    version: UInt
    issued_at: UInt
    zone: UInt
    direction: LaneDirection
    policy: Policy
    phone_keys: Annotated[
        dict[UInt, Annotated[bytes, msgspec.Meta(min_length=16, max_length=64)]],
        msgspec.Meta(max_length=8),
    ] = {}
    # left out while empty, so a lane without peers gets the bytes an older gate can read
    peers: Annotated[list[Id], msgspec.Meta(max_length=MAX_PEERS)] | msgspec.UnsetType = (
        msgspec.UNSET
    )

    def __post_init__(self) -> None:
        """Peers are other gates, each named once (the broker's ACL names the same list)."""
        named = self.peer_ids
        if self.gate in named or len(set(named)) != len(named):
            raise ValueError("peers must be other gates, each named once")

    @property
    def peer_ids(self) -> list[str]:
        """The gates whose presence this gate hears (anti-passback across lanes)."""
        return self.peers if isinstance(self.peers, list) else []


class Command(_Model, frozen=True, kw_only=True):
    """A signed command with a request id and an expiry; never retained."""

    schema: Literal[1] = 1
    site: Id
    gate: Id
    request_id: Uuid
    kind: CommandKind
    issued_at: UInt
    expires_at: UInt
    operator: ShortText
    reason: OverrideReason | None = None
    note: Text | None = None
    mode: Mode | None = None

    def __post_init__(self) -> None:
        """Each kind carries exactly what it needs."""
        if self.expires_at <= self.issued_at:
            raise ValueError("expires_at must be after issued_at")
        if self.kind == CommandKind.OPEN_ONCE and self.reason is None:
            raise ValueError("open_once needs a reason")
        if self.kind == CommandKind.SET_MODE and self.mode is None:
            raise ValueError("set_mode needs a mode")


class TimeRequest(_Model, frozen=True, kw_only=True):
    """A gate asks the server for the time; the answer carries ``nonce`` back, signed.

    ``at`` is the gate's own wall clock when it asked (for the server's log only: the gate
    measures the round trip on its monotonic clock)."""

    schema: Literal[1] = 1
    site: Id
    gate: Id
    nonce: Hex32
    at: Ms


class TimeAnswer(_Model, frozen=True, kw_only=True):
    """The server's time for one request: signed with a ``control`` key, addressed to the gate
    and carrying its nonce, so it can be neither forged nor replayed to another request.
    ``at_ms`` is the server's clock in unix milliseconds when it signed (signed CBOR carries
    seconds elsewhere; a time answer needs the milliseconds)."""

    schema: Literal[1] = 1
    site: Id
    gate: Id
    nonce: Hex32
    at_ms: UInt


_JSON_MODELS: dict[TopicKind, type[msgspec.Struct]] = {
    TopicKind.STATUS: GateStatus,
    TopicKind.EVENTS: GateEvent,
    TopicKind.PRESENCE: PeerPresence,
    TopicKind.ACKS: Ack,
    TopicKind.COMMAND_RESULTS: CommandResult,
    TopicKind.SERVER_STATUS: ServerStatus,
    TopicKind.TIME_REQUESTS: TimeRequest,
}


def encode(message: msgspec.Struct) -> bytes:
    """JSON bytes for a gate-to-server message or an ack."""
    return encode_json(message)


def decode(kind: TopicKind, payload: bytes, model: type[M]) -> M:
    """Decode a JSON payload of a topic kind into ``model``, with that topic's size cap."""
    if _JSON_MODELS.get(kind) is not model:
        raise TypeError(f"{model.__name__} is not the payload of {kind.value}")
    return decode_json(payload, model, cap=SPECS[kind].max_payload)


def encode_checked(kind: TopicKind, message: msgspec.Struct) -> bytes:
    """JSON bytes that decode back to ``message`` as the receiver decodes them; else the
    MessageError the receiver would raise (a model's constructor checks no ranges, so a NaN
    would otherwise leave as ``null``)."""
    payload = encode(message)
    if decode(kind, payload, type(message)) != message:
        raise MalformedMessage(f"{kind.value} payload does not decode to what was encoded")
    return payload


class _EventSeq(msgspec.Struct):
    """The fields that say whose event a payload is and which seq it holds (nothing else)."""

    site: str
    gate: str
    seq: Seq


def event_seq(payload: bytes, *, site: str, gate: str) -> int | None:
    """The seq of an event the server cannot store, when its JSON still says it (and says this
    site and gate); None for anything less."""
    if len(payload) > SPECS[TopicKind.EVENTS].max_payload:
        return None
    try:
        head = msgspec.json.decode(payload, type=_EventSeq)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None
    return head.seq if (head.site, head.gate) == (site, gate) else None


def seq_property(seq: int) -> tuple[str, str]:
    """The user property a gate sends an event again with."""
    return (SEQ_PROPERTY, str(seq))


def seq_from_properties(properties: Sequence[tuple[str, str]]) -> int | None:
    """The event seq a publish's user properties carry, if exactly one well-formed one."""
    values = [value for name, value in properties if name == SEQ_PROPERTY]
    if len(values) != 1:
        return None
    text = values[0]
    if not (text.isascii() and text.isdigit()) or len(text) > 16:  # 2**53 has 16 digits
        return None
    seq = int(text)
    return seq if 1 <= seq <= 2**53 else None


def seal_config(config: GateConfig, key: PrivateKey) -> bytes:
    """Sign a gate's config with a ``control`` key."""
    return seal(config, key)


def seal_command(command: Command, key: PrivateKey) -> bytes:
    """Sign a command with a ``control`` key."""
    return seal(command, key)


def seal_time(answer: TimeAnswer, key: PrivateKey) -> bytes:
    """Sign a time answer with a ``control`` key."""
    return seal(answer, key)


def open_config(
    data: bytes, keys: Mapping[bytes, PublicKey], *, site: str, gate: str
) -> GateConfig:
    """Verify and decode this gate's config; refuse one addressed to another gate."""
    config = open_sealed(data, GateConfig, keys, cap=SPECS[TopicKind.CONFIG].max_payload)
    _check_address(config.site, config.gate, site, gate)
    return config


def open_command(data: bytes, keys: Mapping[bytes, PublicKey], *, site: str, gate: str) -> Command:
    """Verify and decode a command for this gate (expiry and replay are the gate's to check)."""
    command = open_sealed(data, Command, keys, cap=SPECS[TopicKind.COMMANDS].max_payload)
    _check_address(command.site, command.gate, site, gate)
    return command


def open_time(data: bytes, keys: Mapping[bytes, PublicKey], *, site: str, gate: str) -> TimeAnswer:
    """Verify and decode a time answer for this gate (the nonce is the gate's to match)."""
    answer = open_sealed(data, TimeAnswer, keys, cap=SPECS[TopicKind.TIME].max_payload)
    _check_address(answer.site, answer.gate, site, gate)
    return answer


def _check_address(got_site: str, got_gate: str, site: str, gate: str) -> None:
    if (got_site, got_gate) != (site, gate):
        raise WrongSiteMessage(f"addressed to {got_site}/{got_gate}, this is {site}/{gate}")
