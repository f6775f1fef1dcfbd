"""``decide``: the gate's whole admission policy as one pure function (design.md 4.2).

The controller calls it after every new input for the person at the lane (a scan, digits
typed, a temperature reading, a step timing out). It answers GRANT or DENY, or asks for the
next input (NEED_DIGITS, NEED_TEMPERATURE), and returns the gate's next state. Order: mode →
pass validity (checked by protocol.passes.verify before) → clock policy → zone → schedule →
degraded-mode visitor rule → locks → anti-passback → visitor uses → home observation on exit
lanes → phone digits → temperature. No I/O and no clock reads: ``now`` is an argument.
"""

from __future__ import annotations

from device.core import checks, rules
from device.core.context import Context, Result, Rule, grant
from device.core.model import Decision, EventDraft, Lane, Outcome, ScanAttempt, Signal
from device.core.state import GateState
from protocol.claims import PassClaims, PassKind
from protocol.errors import PassError
from protocol.messages import Mode
from protocol.reasons import ReasonCode

__all__ = ["RULES", "decide"]

RULES: tuple[Rule, ...] = (
    rules.mode,
    rules.clock,
    rules.zone,
    rules.schedule,
    rules.degraded_visitor,
    rules.locked,
    checks.anti_passback,
    rules.visitor_uses,
    rules.observation,
    checks.phone_digits,
    checks.temperature,
)


def decide(attempt: ScanAttempt, state: GateState, lane: Lane, now: int) -> Result:
    """The decision for the person at the lane, and the gate's next state."""
    if lane.mode == Mode.FREE_PASSAGE:
        return _free_passage(attempt, state)
    if isinstance(attempt.result, PassError):
        return _deny_unverified(attempt.result, state, now)
    claims = attempt.result
    if claims.kind == PassKind.STAFF:
        state = state.with_staff(claims.ref, now)
    ctx = Context(attempt, claims, state, lane, now)
    for rule in RULES:
        result = rule(ctx)
        if result is not None:
            return result
    return grant(ctx, checks.apb_soft_alarm(ctx))


def _free_passage(attempt: ScanAttempt, state: GateState) -> Result:
    """Emergency: the lane is held open; every scan is logged and let through unchecked."""
    claims = attempt.result if isinstance(attempt.result, PassClaims) else None
    event = EventDraft(
        granted=True,
        reason=ReasonCode.FREE_PASSAGE,
        pass_ref=claims.ref if claims else None,
        pass_kind=claims.kind if claims else None,
    )
    return Decision(Outcome.GRANT, ReasonCode.FREE_PASSAGE, Signal.GRANTED, 0, (event,)), state


def _deny_unverified(error: PassError, state: GateState, now: int) -> Result:
    """The pass failed verification: nothing in it is trusted, so no ref is recorded."""
    event = EventDraft(granted=False, reason=error.reason, note=type(error).__name__)
    decision = Decision(Outcome.DENY, error.reason, Signal.DENIED, 0, (event,))
    return decision, state.with_denial(error.reason, now)
