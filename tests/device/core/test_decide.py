"""``decide`` as one table: every reason code and every policy branch of design.md 4.2."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import msgspec
import pytest

from device.core.decision import decide
from device.core.model import Lane, Outcome, ScanAttempt, Signal, Step, Temperature
from device.core.override import FEVER_BLOCK_S, override
from device.core.state import GateState, Presence, StaffSeen
from protocol import errors
from protocol.claims import PassClaims, PassKind
from protocol.messages import (
    AlarmKind,
    ClockPolicy,
    LaneDirection,
    Mode,
    OverrideReason,
    PhoneCheck,
    Policy,
)
from protocol.phonetag import phone_tag
from protocol.reasons import ReasonCode
from protocol.revocation import RevocationState

NOW = 1_790_000_000  # 22:13 local time (UTC+8)
LOCAL_MINUTE = (NOW // 60 + 480) % 1440
PHONE_KEY = b"p" * 32
PASS_ID = bytes(range(1, 13))
REF = PASS_ID[:8].hex()
IN, OUT = LaneDirection.IN, LaneDirection.OUT


def claims(kind: PassKind = PassKind.RESIDENT, **changes: Any) -> PassClaims:
    base = {
        "site": "gw01",
        "pass_id": PASS_ID,
        "kind": kind,
        "issued_at": NOW - 3600,
        "not_before": NOW - 3600,
        "expires": NOW + 86400,
        "zones": (1, 2),
        "household": 1042 if kind == PassKind.RESIDENT else None,
        "host": 1042 if kind == PassKind.VISITOR else None,
        "uses": 2 if kind == PassKind.VISITOR else None,
        "phone_tag": None if kind == PassKind.STAFF else phone_tag(PHONE_KEY, PASS_ID, "6688"),
        "phone_key_version": None if kind == PassKind.STAFF else 1,
    }
    return PassClaims(**(base | changes))


FRESH = RevocationState(site="gw01", seq=5, issued_at=NOW - 60, next_update=NOW + 3600)


def lane(**changes: Any) -> Lane:
    policy = Policy(phone_check_resident=PhoneCheck.NEVER)
    base = {
        "site": "gw01",
        "gate": "east-in",
        "zone": 1,
        "direction": IN,
        "policy": policy,
        "revocations": FRESH,
        "phone_keys": {1: PHONE_KEY},
    }
    return Lane(**(base | changes))


def policy(**changes: Any) -> Policy:
    return msgspec.structs.replace(Policy(phone_check_resident=PhoneCheck.NEVER), **changes)


def r(body: float) -> Temperature:
    return Temperature(object_c=body - 2.3, ambient_c=22.0, offset_c=2.3, body_c=body)


NORMAL = (r(36.6),)
SEEN_IN = GateState(presence={REF: Presence(IN, NOW - 3600, "east-in")})
SEEN_OUT = GateState(presence={REF: Presence(OUT, NOW - 3600, "east-out")})
RECENT_IN = GateState(presence={REF: Presence(IN, NOW - 120, "east-in")})


@dataclass(frozen=True)
class Row:
    """One case: the inputs, and the outcome, reason and alarm expected."""

    id: str
    outcome: Outcome
    reason: ReasonCode
    attempt: dict[str, Any] = field(default_factory=dict)
    state: GateState = field(default_factory=GateState)
    lane: dict[str, Any] = field(default_factory=dict)
    alarm: AlarmKind | None = None
    signal: Signal | None = None


GRANT, DENY, DIGITS, TEMP = (
    Outcome.GRANT,
    Outcome.DENY,
    Outcome.NEED_DIGITS,
    Outcome.NEED_TEMPERATURE,
)
OK = ReasonCode.OK
STALE = replace(FRESH, next_update=NOW - 2 * 86400)
HOLD_PASS = replace(FRESH, pass_holds={PASS_ID[:8]: NOW + 86400})
HOLD_HOUSE = replace(FRESH, household_holds={1042: NOW + 86400})
HOLD_OVER = replace(FRESH, household_holds={1042: NOW - 1})
visitor = claims(PassKind.VISITOR)
staff = claims(PassKind.STAFF)

ROWS = [
    Row("resident-normal", GRANT, OK, {"temperatures": NORMAL}, signal=Signal.GRANTED),
    # modes
    Row("lockdown", DENY, ReasonCode.LOCKDOWN, {"temperatures": NORMAL},
        lane={"mode": Mode.LOCKDOWN}),
    Row("maintenance", DENY, ReasonCode.MAINTENANCE, lane={"mode": Mode.MAINTENANCE}),
    Row("free-passage-valid", GRANT, ReasonCode.FREE_PASSAGE, lane={"mode": Mode.FREE_PASSAGE}),
    Row("free-passage-invalid", GRANT, ReasonCode.FREE_PASSAGE,
        {"result": errors.PassExpired("x")}, lane={"mode": Mode.FREE_PASSAGE}),
    # clock
    Row("clock-deny-policy", DENY, ReasonCode.CLOCK_UNTRUSTED, {"temperatures": NORMAL},
        lane={"clock_trusted": False, "policy": policy(clock_policy=ClockPolicy.DENY)}),
    Row("clock-degraded-visitor", DENY, ReasonCode.CLOCK_UNTRUSTED, {"result": visitor},
        lane={"clock_trusted": False}),
    Row("clock-degraded-resident-asks-digits", DIGITS, OK, {"temperatures": NORMAL},
        lane={"clock_trusted": False}, signal=Signal.ENTER_DIGITS),
    # zone, schedule
    Row("wrong-zone", DENY, ReasonCode.WRONG_ZONE, lane={"zone": 3}),
    Row("lane-closed-now", DENY, ReasonCode.OUTSIDE_SCHEDULE,
        lane={"policy": policy(open_windows=[[360, LOCAL_MINUTE]])}),
    Row("lane-open-now", GRANT, OK, {"temperatures": NORMAL},
        lane={"policy": policy(open_windows=[[LOCAL_MINUTE, LOCAL_MINUTE + 1]])}),
    Row("pass-window-closed", DENY, ReasonCode.OUTSIDE_SCHEDULE,
        {"result": claims(time_windows=((0, LOCAL_MINUTE),))}),
    # registry freshness (degraded mode)
    Row("stale-old-visitor", DENY, ReasonCode.REGISTRY_STALE,
        {"result": claims(PassKind.VISITOR, issued_at=NOW - 7 * 3600, not_before=NOW - 7 * 3600)},
        lane={"revocations": STALE}),
    Row("stale-new-visitor-asks-digits", DIGITS, OK, {"result": visitor}, lane={"revocations": STALE}),
    Row("no-list-resident-asks-digits", DIGITS, OK, lane={"revocations": None}),
    Row("stale-resident-asks-digits", DIGITS, OK, lane={"revocations": STALE}),
    # locks
    Row("locked", DENY, ReasonCode.PASS_LOCKED, state=GateState(locks={REF: NOW - 60})),
    # anti-passback
    Row("apb-timed", DENY, ReasonCode.RECENTLY_USED, {"temperatures": NORMAL}, state=RECENT_IN),
    Row("apb-logical-in", DENY, ReasonCode.ALREADY_INSIDE, {"temperatures": NORMAL}, state=SEEN_IN),
    Row("apb-logical-out", DENY, ReasonCode.WRONG_DIRECTION, {"temperatures": NORMAL},
        state=SEEN_OUT, lane={"direction": OUT}),
    Row("apb-logical-off", GRANT, OK, {"temperatures": NORMAL}, state=SEEN_IN,
        lane={"policy": policy(apb_logical=False)}),
    Row("apb-opposite-direction", GRANT, OK, {"temperatures": NORMAL}, state=SEEN_OUT),
    Row("apb-soft-resident-partitioned", GRANT, OK, {"temperatures": NORMAL}, state=SEEN_IN,
        lane={"link_up": False}, alarm=AlarmKind.APB_CONFLICT),
    Row("apb-hard-visitor-partitioned", DENY, ReasonCode.ALREADY_INSIDE, {"result": visitor},
        state=SEEN_IN, lane={"link_up": False}),
    Row("apb-staff-exempt", GRANT, OK, {"result": staff, "temperatures": NORMAL}, state=RECENT_IN),
    # visitor uses
    Row("uses-exhausted", DENY, ReasonCode.USES_EXHAUSTED, {"result": visitor},
        state=GateState(uses={REF: 2})),
    Row("uses-left", GRANT, OK, {"result": visitor, "temperatures": NORMAL, "digits": ("6688",)},
        state=GateState(uses={REF: 1})),
    Row("uses-exhausted-may-leave", GRANT, OK, {"result": visitor, "temperatures": NORMAL,
        "digits": ("6688",)}, state=GateState(uses={REF: 2}), lane={"direction": OUT}),
    # home observation
    Row("observation-pass-exit", DENY, ReasonCode.UNDER_OBSERVATION, lane={"direction": OUT,
        "revocations": HOLD_PASS}),
    Row("observation-household-exit", DENY, ReasonCode.UNDER_OBSERVATION, lane={"direction": OUT,
        "revocations": HOLD_HOUSE}),
    Row("observation-entry-allowed", GRANT, OK, {"temperatures": NORMAL},
        lane={"revocations": HOLD_HOUSE}),
    Row("observation-ended", GRANT, OK, {"temperatures": NORMAL}, lane={"direction": OUT,
        "revocations": HOLD_OVER}),
    # phone digits
    Row("digits-never", GRANT, OK, {"temperatures": NORMAL}),
    Row("digits-always-asks", DIGITS, OK, lane={"policy": policy(phone_check_resident=PhoneCheck.ALWAYS)},
        signal=Signal.ENTER_DIGITS),
    Row("digits-sampled-hit", DIGITS, OK, {"sample": 0.05},
        lane={"policy": policy(phone_check_resident=PhoneCheck.SAMPLED, phone_sample_percent=10)}),
    Row("digits-sampled-miss", GRANT, OK, {"sample": 0.5, "temperatures": NORMAL},
        lane={"policy": policy(phone_check_resident=PhoneCheck.SAMPLED, phone_sample_percent=10)}),
    Row("digits-visitor-always", DIGITS, OK, {"result": visitor}),
    Row("digits-staff-policy", GRANT, OK, {"result": staff, "temperatures": NORMAL},
        lane={"policy": policy(phone_check_staff=PhoneCheck.ALWAYS)}),  # staff pass has no tag
    Row("digits-no-registered-phone", GRANT, OK,
        {"result": claims(phone_tag=None, phone_key_version=None), "temperatures": NORMAL},
        lane={"revocations": STALE}),
    Row("digits-right", GRANT, OK,
        {"result": visitor, "digits": ("6688",), "temperatures": NORMAL}),
    Row("digits-wrong-first", DIGITS, ReasonCode.PHONE_MISMATCH, {"result": visitor,
        "digits": ("1234",)}, signal=Signal.WRONG_DIGITS),
    Row("digits-wrong-third-locks", DENY, ReasonCode.PASS_LOCKED, {"result": visitor,
        "digits": ("1", "2", "1234")}, state=GateState(wrong_digits={REF: 2}),
        alarm=AlarmKind.SUSPECTED_LENDING),
    Row("digits-wrong-then-walked-away", DENY, ReasonCode.PHONE_MISMATCH, {"result": visitor,
        "digits": ("1234",), "timed_out": Step.DIGITS}),
    Row("digits-timeout", DENY, ReasonCode.TIMEOUT, {"result": visitor, "timed_out": Step.DIGITS}),
    Row("digits-key-missing", DENY, ReasonCode.REGISTRY_STALE, {"result": visitor},
        lane={"phone_keys": {2: PHONE_KEY}}),
    # temperature
    Row("temp-needed", TEMP, OK, signal=Signal.MEASURE),
    Row("temp-device-fault", DENY, ReasonCode.DEVICE_FAULT, {"thermometer_ok": False},
        signal=Signal.FAULT),
    Row("temp-timeout", DENY, ReasonCode.NO_TEMPERATURE, {"timed_out": Step.TEMPERATURE}),
    Row("temp-nan-measure-again", TEMP, OK, {"temperatures": (r(float("nan")),)},
        signal=Signal.MEASURE_AGAIN),
    Row("temp-inf-measure-again", TEMP, OK, {"temperatures": (r(float("inf")),)}),
    Row("temp-99.9-measure-again", TEMP, OK, {"temperatures": (r(99.9),)}),
    Row("temp-zero-measure-again", TEMP, OK, {"temperatures": (r(0.0),)}),
    Row("temp-implausible-three-times", DENY, ReasonCode.IMPLAUSIBLE_TEMPERATURE,
        {"temperatures": (r(-1.0), r(30.0), r(float("nan")))}),
    Row("temp-implausible-then-timeout", DENY, ReasonCode.IMPLAUSIBLE_TEMPERATURE,
        {"temperatures": (r(33.0),), "timed_out": Step.TEMPERATURE}),
    Row("temp-implausible-then-normal", GRANT, OK, {"temperatures": (r(31.0), r(36.5))}),
    Row("temp-high-retest", TEMP, OK, {"temperatures": (r(37.5),)}, signal=Signal.MEASURE_AGAIN),
    Row("temp-at-threshold-retest", TEMP, OK, {"temperatures": (r(37.3),)}),
    Row("temp-fever-confirmed", DENY, ReasonCode.FEVER, {"temperatures": (r(37.5), r(37.6))},
        alarm=AlarmKind.FEVER_CONFIRMED, signal=Signal.FEVER),
    Row("temp-fever-no-retest-policy", DENY, ReasonCode.FEVER, {"temperatures": (r(38.0),)},
        lane={"policy": policy(retests=0)}, alarm=AlarmKind.FEVER_CONFIRMED),
    Row("temp-high-then-normal", GRANT, OK, {"temperatures": (r(37.5), r(36.8))}),
    Row("temp-not-required", GRANT, OK, lane={"policy": policy(temperature_required=False)}),
    # digits come before temperature
    Row("digits-before-temperature", DIGITS, OK,
        {"result": visitor, "temperatures": (r(38.5), r(38.6))}),
]  # fmt: skip


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_decide(row: Row) -> None:
    attempt = ScanAttempt(**({"result": claims()} | row.attempt))
    decision, _ = decide(attempt, row.state, lane(**row.lane), NOW)
    assert (decision.outcome, decision.reason) == (row.outcome, row.reason)
    if row.signal is not None:
        assert decision.signal == row.signal
    alarms = [e.alarm for e in decision.events if e.alarm is not None]
    assert alarms == ([row.alarm] if row.alarm else [])
    if decision.final:
        outcome_event = decision.events[0]
        assert outcome_event.granted is (row.outcome == GRANT)
        assert outcome_event.reason == row.reason
    else:
        assert decision.events == ()
    opens = row.outcome == GRANT and row.reason != ReasonCode.FREE_PASSAGE
    assert (decision.open_ms > 0) is opens


PASS_ERRORS = [
    errors.UnreadablePass,
    errors.UnknownFormat,
    errors.Base45Error,
    errors.DecompressionBomb,
    errors.MalformedPass,
    errors.BadAlgorithm,
    errors.UnknownKey,
    errors.MissingKeyId,
    errors.KeyNotValid,
    errors.BadSignature,
    errors.BadClaims,
    errors.UnsupportedSchema,
    errors.WrongSite,
    errors.NotYetValid,
    errors.PassExpired,
    errors.PassRevoked,
    errors.HouseholdCutOff,
]


@pytest.mark.parametrize("error", PASS_ERRORS, ids=[e.__name__ for e in PASS_ERRORS])
def test_unverified_pass_is_denied_with_its_reason(error: type[errors.PassError]) -> None:
    decision, state = decide(ScanAttempt(result=error("detail")), GateState(), lane(), NOW)
    assert (decision.outcome, decision.reason) == (DENY, error.reason)
    event = decision.events[0]
    assert event.pass_ref is None
    assert event.note == error.__name__
    assert state.last_denial == (error.reason, NOW)


def test_grant_records_presence_and_a_use() -> None:
    _, state = decide(ScanAttempt(result=claims(), temperatures=NORMAL), GateState(), lane(), NOW)
    assert state.presence[REF] == Presence(IN, NOW, "east-in")
    assert state.uses[REF] == 1
    decision, _ = decide(ScanAttempt(result=claims(), temperatures=NORMAL), state, lane(), NOW + 5)
    assert decision.reason == ReasonCode.RECENTLY_USED


def test_wrong_digits_count_up_then_lock() -> None:
    state = GateState()
    for tries, expected in ((1, DIGITS), (2, DIGITS), (3, DENY)):
        attempt = ScanAttempt(result=visitor, digits=("0000",) * tries)
        decision, state = decide(attempt, state, lane(), NOW)
        assert decision.outcome == expected
    assert REF in state.locks
    decision, _ = decide(ScanAttempt(result=visitor, digits=("6688",)), state, lane(), NOW + 60)
    assert decision.reason == ReasonCode.PASS_LOCKED  # even the right digits, once locked


def test_a_lock_in_the_signed_list_refuses_the_pass_at_every_lane() -> None:
    listed = replace(FRESH, locks={PASS_ID[:8]: NOW - 300})
    attempt = ScanAttempt(result=claims(), temperatures=NORMAL)
    decision, _ = decide(attempt, GateState(), lane(revocations=listed), NOW)
    assert (decision.outcome, decision.reason) == (DENY, ReasonCode.PASS_LOCKED)
    other = replace(FRESH, locks={b"\xee" * 8: NOW - 300})
    decision, _ = decide(attempt, GateState(), lane(revocations=other), NOW)
    assert decision.outcome == Outcome.GRANT


def test_an_unlock_clears_only_locks_up_to_its_time() -> None:
    state = GateState(locks={REF: NOW - 100, "ee" * 8: NOW - 100}, wrong_digits={REF: 3})
    cleared, refs = state.unlocked_by({REF: NOW - 100, "ee" * 8: NOW - 101})
    assert refs == [REF]
    assert cleared.locks == {"ee" * 8: NOW - 100}  # locked again after that unlock: kept
    assert REF not in cleared.wrong_digits


def test_temperatures_are_recorded_on_the_event() -> None:
    temperatures = (r(37.5), r(37.6))
    attempt = ScanAttempt(result=claims(), temperatures=temperatures)
    decision, _ = decide(attempt, GateState(), lane(), NOW)
    assert decision.events[0].temperatures == temperatures
    assert decision.events[1].alarm == AlarmKind.FEVER_CONFIRMED


def test_staff_scan_is_remembered_for_attribution() -> None:
    _, state = decide(ScanAttempt(result=staff, temperatures=NORMAL), GateState(), lane(), NOW)
    assert state.last_staff == StaffSeen(REF, NOW)


@pytest.mark.parametrize(
    ("state", "fever_overridable", "outcome"),
    [
        (GateState(), False, GRANT),
        (GateState(last_denial=(ReasonCode.FEVER, NOW - 10)), False, DENY),
        (GateState(last_denial=(ReasonCode.FEVER, NOW - 10)), True, GRANT),
        (GateState(last_denial=(ReasonCode.FEVER, NOW - FEVER_BLOCK_S)), False, GRANT),
        (GateState(last_denial=(ReasonCode.PHONE_MISMATCH, NOW - 10)), False, GRANT),
    ],
    ids=["plain", "after-fever", "after-fever-allowed", "fever-long-ago", "after-mismatch"],
)
def test_override(state: GateState, fever_overridable: bool, outcome: Outcome) -> None:
    gate = lane(policy=policy(fever_overridable=fever_overridable))
    decision, _ = override(
        state, gate, NOW, operator="staff-pass:aa", reason=OverrideReason.EMERGENCY
    )
    assert decision.outcome == outcome
    expected = ReasonCode.OVERRIDE if outcome == GRANT else ReasonCode.FEVER
    assert decision.reason == expected
    assert decision.events[0].operator == "staff-pass:aa"
    assert decision.events[0].note == "emergency"


def test_every_reason_code_is_exercised() -> None:
    seen = {row.reason for row in ROWS} | {e.reason for e in PASS_ERRORS} | {ReasonCode.OVERRIDE}
    assert seen == set(ReasonCode)


def test_override_is_attributed_to_a_recent_staff_scan() -> None:
    from device.core.override import attributed_operator

    recent = GateState(last_staff=StaffSeen("ab" * 8, NOW - 30))
    assert attributed_operator(recent, lane(), NOW) == f"staff-pass:{'ab' * 8}"
    stale = GateState(last_staff=StaffSeen("ab" * 8, NOW - 61))
    assert attributed_operator(stale, lane(), NOW) is None
    assert attributed_operator(GateState(), lane(), NOW) is None


def test_peer_grants_update_presence_only_when_newer() -> None:
    state = GateState().observe_peer_grant(REF, OUT, "east-out", NOW - 100)
    assert state.presence[REF].direction == OUT
    older = state.observe_peer_grant(REF, IN, "north-in", NOW - 200)
    assert older is state
    newer = state.observe_peer_grant(REF, IN, "north-in", NOW - 50)
    assert newer.presence[REF] == Presence(IN, NOW - 50, "north-in")
    assert newer.uses[REF] == 1
    assert newer.pruned(NOW + 10_000, keep_s=3600).presence == {}
