"""A resident without a phone proves they hold their card with its PIN (issue 16 item 6): the
pure ``decide`` asks for it exactly as for phone digits, naming which, and counts wrong tries
and locks the same way; old passes (no holder-proof claim) still ask for the phone digits."""

from __future__ import annotations

from dataclasses import replace

import pytest

from device.core.decision import decide
from device.core.model import Outcome, Prompt, ScanAttempt, Signal
from device.core.state import GateState
from device.wording import prompt_text
from protocol.claims import HolderProof, PassKind, decode_claims, encode_claims
from protocol.errors import BadClaims
from protocol.messages import PhoneCheck
from protocol.phonetag import phone_tag
from protocol.reasons import ReasonCode
from tests.device.core.test_decide import NOW, PASS_ID, PHONE_KEY, REF, claims, lane, policy

PIN = "0427"
ALWAYS = policy(phone_check_resident=PhoneCheck.ALWAYS, temperature_required=False)
CARD = claims(phone_tag=phone_tag(PHONE_KEY, PASS_ID, PIN), proof=HolderProof.CARD_PIN)
PHONE = claims()


def _decide(attempt: ScanAttempt, state: GateState | None = None, **lane_changes: object):  # type: ignore[no-untyped-def]
    return decide(attempt, state or GateState(), lane(policy=ALWAYS, **lane_changes), NOW)


@pytest.mark.parametrize(
    ("pass_claims", "prompt", "words"),
    [(CARD, Prompt.CARD_PIN, "请输入卡片密码"), (PHONE, Prompt.PHONE_DIGITS, "请输入手机后四位")],
)
def test_the_lane_asks_for_the_right_digits(pass_claims, prompt, words) -> None:  # type: ignore[no-untyped-def]
    decision, _ = _decide(ScanAttempt(result=pass_claims))
    assert (decision.outcome, decision.signal, decision.prompt) == (
        Outcome.NEED_DIGITS,
        Signal.ENTER_DIGITS,
        prompt,
    )
    assert prompt_text(decision.prompt) == words
    assert prompt_text(decision.prompt, "en").startswith("Enter the")


def test_the_card_pin_admits_and_the_phone_digits_do_not() -> None:
    decision, _ = _decide(ScanAttempt(result=CARD, digits=(PIN,)))
    assert (decision.outcome, decision.reason) == (Outcome.GRANT, ReasonCode.OK)
    wrong, state = _decide(ScanAttempt(result=CARD, digits=("6688",)))
    assert (wrong.outcome, wrong.signal, wrong.prompt) == (
        Outcome.NEED_DIGITS,
        Signal.WRONG_DIGITS,
        Prompt.CARD_PIN,
    )
    assert state.wrong_digits[REF] == 1


def test_three_wrong_pins_lock_the_pass() -> None:
    state = GateState()
    attempt = ScanAttempt(result=CARD)
    for tries in (1, 2, 3):
        attempt = replace(attempt, digits=(*attempt.digits, "1111"))
        decision, state = _decide(attempt, state)
        assert state.wrong_digits[REF] == tries
    assert (decision.outcome, decision.reason) == (Outcome.DENY, ReasonCode.PASS_LOCKED)
    assert REF in state.locks
    locked, _ = _decide(ScanAttempt(result=CARD, digits=(PIN,)), state)
    assert locked.reason == ReasonCode.PASS_LOCKED


def test_policy_never_asks_neither_card_nor_phone() -> None:
    never = policy(phone_check_resident=PhoneCheck.NEVER, temperature_required=False)
    for c in (CARD, PHONE):
        decision, _ = decide(ScanAttempt(result=c), GateState(), lane(policy=never), NOW)
        assert decision.outcome == Outcome.GRANT


def test_the_claim_is_absent_from_old_passes_and_refused_when_malformed() -> None:
    import cbor2

    assert 12 not in cbor2.loads(encode_claims(PHONE))[-65537]
    assert decode_claims(encode_claims(PHONE)).proof == HolderProof.PHONE
    assert decode_claims(encode_claims(CARD)).proof == HolderProof.CARD_PIN
    raw = cbor2.loads(encode_claims(PHONE))
    for bad in (0, 2, -1, "1", 2**64, None, [1]):
        raw[-65537][12] = bad
        with pytest.raises(BadClaims):
            decode_claims(cbor2.dumps(raw, canonical=True))
    with pytest.raises(BadClaims, match="card PIN"):
        claims(kind=PassKind.STAFF, proof=HolderProof.CARD_PIN)
