"""The inputs of one decision and the helpers every rule uses to answer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from device.core.model import Decision, EventDraft, Lane, Outcome, Prompt, ScanAttempt, Signal
from device.core.state import GateState
from protocol.claims import PassClaims
from protocol.messages import AlarmKind, ClockPolicy
from protocol.reasons import ReasonCode


@dataclass(frozen=True, slots=True)
class Context:
    """One call's inputs, bundled so each rule is a small function of one argument."""

    attempt: ScanAttempt
    claims: PassClaims
    state: GateState
    lane: Lane
    now: int

    @property
    def ref(self) -> str:
        """The pass's 16-hex reference (first 8 bytes of its id)."""
        return self.claims.ref

    @property
    def stale(self) -> bool:
        """No revocation list, or one older than its next update plus the grace period."""
        rev = self.lane.revocations
        return rev is None or rev.is_stale(self.now, self.lane.policy.revocation_grace_s)

    @property
    def degraded(self) -> bool:
        """Stale list, or an untrusted clock under the degraded clock policy (design.md 4.2)."""
        policy = self.lane.policy.clock_policy
        return self.stale or (not self.lane.clock_trusted and policy == ClockPolicy.DEGRADED)


# A rule returns None to let the person continue, or the (decision, next state) that ends here.
Result = tuple[Decision, GateState]
Rule = Callable[[Context], Result | None]


def event(
    ctx: Context, *, granted: bool | None, reason: ReasonCode | None, alarm: AlarmKind | None = None
) -> EventDraft:
    """An event about this pass, with every temperature taken so far."""
    return EventDraft(
        granted=granted,
        reason=reason,
        alarm=alarm,
        pass_ref=ctx.ref,
        pass_kind=ctx.claims.kind,
        temperatures=ctx.attempt.temperatures,
    )


def _with_alarm(ctx: Context, first: EventDraft, alarm: AlarmKind | None) -> tuple[EventDraft, ...]:
    if alarm is None:
        return (first,)
    return first, event(ctx, granted=None, reason=None, alarm=alarm)


def deny(
    ctx: Context,
    reason: ReasonCode,
    *,
    signal: Signal = Signal.DENIED,
    alarm: AlarmKind | None = None,
    state: GateState | None = None,
) -> Result:
    """A final denial with its event (and an alarm event when one is due)."""
    base = ctx.state if state is None else state
    events = _with_alarm(ctx, event(ctx, granted=False, reason=reason), alarm)
    return Decision(Outcome.DENY, reason, signal, 0, events), base.with_denial(reason, ctx.now)


def grant(ctx: Context, alarm: AlarmKind | None = None) -> Result:
    """Let the person through: relay pulse, presence recorded, one use counted."""
    lane = ctx.lane
    events = _with_alarm(ctx, event(ctx, granted=True, reason=ReasonCode.OK), alarm)
    decision = Decision(
        Outcome.GRANT, ReasonCode.OK, Signal.GRANTED, lane.policy.relay_pulse_ms, events
    )
    return decision, ctx.state.with_grant(ctx.ref, lane.direction, lane.gate, ctx.now)


def ask(
    ctx: Context,
    outcome: Outcome,
    signal: Signal,
    state: GateState | None = None,
    prompt: Prompt | None = None,
) -> Result:
    """Not final: ask for digits (``prompt`` says which) or a (new) temperature reading."""
    reason = ReasonCode.PHONE_MISMATCH if signal == Signal.WRONG_DIGITS else ReasonCode.OK
    decision = Decision(outcome, reason, signal, prompt=prompt)
    return decision, ctx.state if state is None else state
