"""Payload models: round trips, and every malformed input of reliability-security.md 9.2 item 4."""

from __future__ import annotations

import uuid

import msgspec
import pytest

from protocol import errors, messages
from protocol.keys import generate_ed25519, kid_for
from protocol.messages import (
    Ack,
    Command,
    CommandKind,
    CommandResult,
    EventKind,
    GateConfig,
    GateEvent,
    GateStatus,
    LaneDirection,
    Lifecycle,
    Mode,
    OverrideReason,
    Policy,
    ServerStatus,
    TemperatureReading,
)
from protocol.reasons import ReasonCode
from protocol.topics import SPECS, TopicKind

BOOT = "0123456789abcdef0123456789abcdef"
EVENT = GateEvent(
    kind=EventKind.DECISION,
    event_id=str(uuid.UUID(int=1)),
    site="gw01",
    gate="east-in",
    seq=1,
    boot_id=BOOT,
    at=1_790_000_000_000,
    clock_trusted=True,
    lane=LaneDirection.IN,
    offline=False,
    granted=False,
    reason=ReasonCode.FEVER,
    pass_ref="0011223344556677",
    pass_kind="resident",
    temperatures=[TemperatureReading(object_c=35.1, ambient_c=22.0, offset_c=2.6, body_c=37.7)],
)
STATUS = GateStatus(
    site="gw01",
    gate="east-in",
    state=Lifecycle.ONLINE,
    at=1,
    boot_id=BOOT,
    software="0.1.0",
    mode=Mode.NORMAL,
    clock_trusted=True,
    outbox_depth=0,
)
SAMPLES = [
    (TopicKind.EVENTS, EVENT),
    (TopicKind.STATUS, STATUS),
    (TopicKind.ACKS, Ack(site="gw01", gate="east-in", seq=41, at=1)),
    (
        TopicKind.COMMAND_RESULTS,
        CommandResult(
            site="gw01",
            gate="a",
            request_id=str(uuid.UUID(int=2)),
            at=1,
            outcome=messages.CommandOutcome.DONE,
        ),
    ),
    (
        TopicKind.SERVER_STATUS,
        ServerStatus(site="gw01", state=Lifecycle.ONLINE, at=1, software="0.1"),
    ),
    (
        TopicKind.TIME_REQUESTS,
        messages.TimeRequest(site="gw01", gate="east-in", nonce="ab" * 16, at=1),
    ),
]


@pytest.mark.parametrize(("kind", "message"), SAMPLES, ids=[k.value for k, _ in SAMPLES])
def test_round_trip(kind: TopicKind, message: msgspec.Struct) -> None:
    payload = messages.encode(message)
    assert messages.decode(kind, payload, type(message)) == message
    assert b'"schema":1' in payload


def mutate(**changes: object) -> bytes:
    raw = msgspec.json.decode(messages.encode(EVENT))
    raw.update(changes)
    return msgspec.json.encode(raw)


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        (b"not json", errors.MalformedMessage),
        (b"", errors.MalformedMessage),
        (b"\xff\xfe", errors.MalformedMessage),
        (messages.encode(EVENT)[:-1], errors.MalformedMessage),
        (b"[" * 4000, errors.WrongType),  # deep nesting: refused at the first level
        (b'{"schema": 1}', errors.WrongType),  # required fields missing
        (mutate(extra=1), errors.UnknownField),
        (mutate(seq="1"), errors.WrongType),
        (mutate(seq=1.0), errors.WrongType),
        (mutate(seq=True), errors.WrongType),
        (mutate(seq=0), errors.OutOfRange),
        (mutate(seq=-5), errors.OutOfRange),
        (mutate(seq=2**64), errors.OutOfRange),
        (mutate(at=10**15), errors.OutOfRange),  # far future
        (mutate(schema=2), errors.UnsupportedVersion),
        (mutate(gate="EAST"), errors.OutOfRange),
        (mutate(event_id="not-a-uuid"), errors.OutOfRange),
        (mutate(reason="made_up"), errors.WrongType),
        (mutate(note="line\nbreak"), errors.OutOfRange),
        (mutate(note="x" * 201), errors.OutOfRange),
        (mutate(note="\u202egnp.exe"), errors.OutOfRange),
        (mutate(granted=None), errors.WrongType),  # a decision without its outcome
        (messages.encode(EVENT).replace(b"35.1", b"NaN"), errors.MalformedMessage),
        (messages.encode(EVENT).replace(b"35.1", b"Infinity"), errors.MalformedMessage),
        (messages.encode(EVENT).replace(b"35.1", b"1e999"), errors.OutOfRange),
        (messages.encode(EVENT).replace(b"35.1", b"-1e999"), errors.OutOfRange),
        (messages.encode(EVENT).replace(b"35.1", b"999.0"), errors.OutOfRange),
        (b" " * 5000, errors.PayloadTooLarge),
    ],
)
def test_malformed_events_are_refused_with_a_specific_error(
    payload: bytes, error: type[Exception]
) -> None:
    with pytest.raises(error):
        messages.decode(TopicKind.EVENTS, payload, GateEvent)


def test_every_json_topic_has_a_cap() -> None:
    cap = SPECS[TopicKind.STATUS].max_payload
    with pytest.raises(errors.PayloadTooLarge):
        messages.decode(TopicKind.STATUS, b"{" + b" " * cap + b"}", GateStatus)


def test_decode_refuses_the_wrong_model_for_a_topic() -> None:
    with pytest.raises(TypeError):
        messages.decode(TopicKind.ACKS, messages.encode(EVENT), GateEvent)


def test_an_alarm_needs_its_kind() -> None:
    with pytest.raises(errors.WrongType, match="alarm"):
        messages.decode(TopicKind.EVENTS, mutate(kind="alarm"), GateEvent)


CONTROL = generate_ed25519()
KEYS = {kid_for(CONTROL): CONTROL.public_key()}


def make_config(**changes: object) -> GateConfig:
    base = {
        "site": "gw01",
        "gate": "east-in",
        "version": 3,
        "issued_at": 100,
        "zone": 1,
        "direction": LaneDirection.IN,
        "policy": Policy(),
        "phone_keys": {1: b"k" * 32},
    }
    return GateConfig(**(base | changes))  # type: ignore[arg-type]


def test_signed_config_round_trips_and_is_addressed() -> None:
    data = messages.seal_config(make_config(), CONTROL)
    assert messages.open_config(data, KEYS, site="gw01", gate="east-in") == make_config()
    with pytest.raises(errors.WrongSiteMessage):
        messages.open_config(data, KEYS, site="gw01", gate="east-out")


def test_config_signed_by_an_unknown_key_is_untrusted() -> None:
    data = messages.seal_config(make_config(), generate_ed25519())
    with pytest.raises(errors.UntrustedMessage):
        messages.open_config(data, KEYS, site="gw01", gate="east-in")


@pytest.mark.parametrize("data", [b"", b"\x00", b"{}", b"\xd2\x84" + b"\x00" * 10])
def test_garbage_config_is_untrusted(data: bytes) -> None:
    with pytest.raises(errors.UntrustedMessage):
        messages.open_config(data, KEYS, site="gw01", gate="east-in")


def test_oversize_config_is_refused_before_verification() -> None:
    with pytest.raises(errors.PayloadTooLarge):
        messages.open_config(
            b"\x00" * (SPECS[TopicKind.CONFIG].max_payload + 1), KEYS, site="gw01", gate="a"
        )


def test_policy_bounds_reject_nonsense_thresholds() -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"fever_threshold_c": float("nan")}, Policy)
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"fever_threshold_c": 45.0}, Policy)


def command(**changes: object) -> Command:
    base = {
        "site": "gw01",
        "gate": "east-in",
        "request_id": str(uuid.UUID(int=9)),
        "kind": CommandKind.OPEN_ONCE,
        "issued_at": 100,
        "expires_at": 130,
        "operator": "staff-li",
        "reason": OverrideReason.NO_SMARTPHONE,
    }
    return Command(**(base | changes))  # type: ignore[arg-type]


def test_signed_command_round_trips() -> None:
    data = messages.seal_command(command(), CONTROL)
    assert messages.open_command(data, KEYS, site="gw01", gate="east-in") == command()


@pytest.mark.parametrize(
    "changes",
    [{"reason": None}, {"kind": CommandKind.SET_MODE, "reason": None}, {"expires_at": 100}],
)
def test_commands_carry_what_their_kind_needs(changes: dict[str, object]) -> None:
    with pytest.raises((ValueError, msgspec.ValidationError)):
        command(**changes)


def test_a_time_answer_opens_only_with_a_control_key_and_for_its_own_gate() -> None:
    key, other = generate_ed25519(), generate_ed25519()
    keys = {kid_for(key): key.public_key()}
    answer = messages.TimeAnswer(
        site="gw01", gate="east-in", nonce="cd" * 16, at_ms=1_800_000_000_123
    )
    sealed = messages.seal_time(answer, key)
    assert messages.open_time(sealed, keys, site="gw01", gate="east-in") == answer
    with pytest.raises(errors.WrongSiteMessage):
        messages.open_time(sealed, keys, site="gw01", gate="east-out")
    with pytest.raises(errors.UntrustedMessage):
        messages.open_time(messages.seal_time(answer, other), keys, site="gw01", gate="east-in")
