"""The three checks with more than one branch: anti-passback, phone digits, temperature."""

from __future__ import annotations

from device.core.context import Context, Result, ask, deny
from device.core.model import Outcome, Prompt, Signal, Step
from protocol.claims import HolderProof, PassKind
from protocol.messages import AlarmKind, LaneDirection, PhoneCheck
from protocol.phonetag import digits_match
from protocol.reasons import ReasonCode

MAX_IMPLAUSIBLE = 3  # readings outside the human range before the lane gives up


def anti_passback(ctx: Context) -> Result | None:
    """Timed and logical anti-passback; soft (admit and alert) for residents when partitioned.

    Timed: the same pass through a lane of the same direction within ``apb_minutes``.
    Logical: entering while recorded inside, or leaving while recorded outside. Staff are
    exempt. Visitors are always refused; residents are refused while the gate is connected,
    and let through with an ``apb_conflict`` alarm while partitioned (its view may be stale).
    """
    if ctx.claims.kind == PassKind.STAFF:
        return None
    reason = _apb_violation(ctx)
    if reason is None:
        return None
    if ctx.claims.kind == PassKind.RESIDENT and not ctx.lane.link_up:
        return None  # soft: the grant carries the alarm (see apb_soft_alarm)
    return deny(ctx, reason)


def _apb_violation(ctx: Context) -> ReasonCode | None:
    seen = ctx.state.presence.get(ctx.ref)
    if seen is None:
        return None
    policy, direction = ctx.lane.policy, ctx.lane.direction
    if seen.direction == direction and ctx.now - seen.at < policy.apb_minutes * 60:
        return ReasonCode.RECENTLY_USED
    if policy.apb_logical and seen.direction == direction:
        inside = direction == LaneDirection.IN
        return ReasonCode.ALREADY_INSIDE if inside else ReasonCode.WRONG_DIRECTION
    return None


def apb_soft_alarm(ctx: Context) -> AlarmKind | None:
    """The alarm a soft anti-passback admission carries, if any."""
    if ctx.claims.kind == PassKind.RESIDENT and not ctx.lane.link_up and _apb_violation(ctx):
        return AlarmKind.APB_CONFLICT
    return None


def digits_required(ctx: Context) -> bool:
    """Visitors always; degraded mode always; residents and staff per policy (or sampled)."""
    claims, policy = ctx.claims, ctx.lane.policy
    if claims.phone_tag is None:
        return False  # no registered phone: the registry decided this pass is not asked
    if claims.kind == PassKind.VISITOR or ctx.degraded:
        return True
    rule = (
        policy.phone_check_staff if claims.kind == PassKind.STAFF else policy.phone_check_resident
    )
    if rule == PhoneCheck.SAMPLED:
        return ctx.attempt.sample < policy.phone_sample_percent / 100
    return rule == PhoneCheck.ALWAYS


def prompt_for(ctx: Context) -> Prompt:
    """Which digits the pass is tagged with: its card PIN (a resident without a phone, holder
    proof 1) or the last four digits of its registered phone (every other pass)."""
    return Prompt.CARD_PIN if ctx.claims.proof == HolderProof.CARD_PIN else Prompt.PHONE_DIGITS


def phone_digits(ctx: Context) -> Result | None:
    """The holder must type the last four digits of the pass's registered phone, or the card
    PIN printed for a holder without a phone: the same keyed tag, the same tries and lock."""
    if not digits_required(ctx):
        return None
    if ctx.claims.phone_key_version not in ctx.lane.phone_keys:
        return deny(ctx, ReasonCode.REGISTRY_STALE)  # this gate lacks that phone-key version
    if not ctx.attempt.digits:
        if ctx.attempt.timed_out == Step.DIGITS:
            return deny(ctx, ReasonCode.TIMEOUT)
        return ask(ctx, Outcome.NEED_DIGITS, Signal.ENTER_DIGITS, prompt=prompt_for(ctx))
    keys = dict(ctx.lane.phone_keys)
    if digits_match(ctx.claims, keys, ctx.attempt.digits[-1]):
        return None
    return _wrong_digits(ctx)


def _wrong_digits(ctx: Context) -> Result:
    """Count a wrong try; at the limit, lock the pass and raise suspected lending."""
    tries = ctx.state.wrong_digits.get(ctx.ref, 0) + 1
    state = ctx.state.with_wrong_digits(ctx.ref, tries)
    if tries >= ctx.lane.policy.phone_attempts:
        locked = state.with_lock(ctx.ref, ctx.now)
        return deny(ctx, ReasonCode.PASS_LOCKED, alarm=AlarmKind.SUSPECTED_LENDING, state=locked)
    if ctx.attempt.timed_out == Step.DIGITS:
        return deny(ctx, ReasonCode.PHONE_MISMATCH, state=state)
    return ask(ctx, Outcome.NEED_DIGITS, Signal.WRONG_DIGITS, state, prompt_for(ctx))


def temperature(ctx: Context) -> Result | None:
    """Measure; implausible means measure again; at or above the threshold, re-test, then deny."""
    if not ctx.lane.policy.temperature_required:
        return None
    if not ctx.attempt.temperatures:
        return _no_reading(ctx)
    if not ctx.attempt.temperatures[-1].plausible(ctx.lane.policy):
        return _implausible(ctx)
    return _fever(ctx)


def _no_reading(ctx: Context) -> Result:
    if not ctx.attempt.thermometer_ok:
        return deny(ctx, ReasonCode.DEVICE_FAULT, signal=Signal.FAULT)
    if ctx.attempt.timed_out == Step.TEMPERATURE:
        return deny(ctx, ReasonCode.NO_TEMPERATURE)
    return ask(ctx, Outcome.NEED_TEMPERATURE, Signal.MEASURE)


def _implausible(ctx: Context) -> Result:
    """NaN, stuck or out-of-range readings are never "normal": measure again, then give up."""
    policy, attempt = ctx.lane.policy, ctx.attempt
    implausible = sum(not r.plausible(policy) for r in attempt.temperatures)
    if implausible >= MAX_IMPLAUSIBLE or attempt.timed_out == Step.TEMPERATURE:
        return deny(ctx, ReasonCode.IMPLAUSIBLE_TEMPERATURE)
    return ask(ctx, Outcome.NEED_TEMPERATURE, Signal.MEASURE_AGAIN)


def _fever(ctx: Context) -> Result | None:
    """A plausible reading at or above the threshold is re-tested ``retests`` times."""
    policy, attempt = ctx.lane.policy, ctx.attempt
    if attempt.temperatures[-1].body_c < policy.fever_threshold_c:
        return None
    high = sum(
        r.plausible(policy) and r.body_c >= policy.fever_threshold_c for r in attempt.temperatures
    )
    if high > policy.retests or attempt.timed_out == Step.TEMPERATURE:
        return deny(ctx, ReasonCode.FEVER, signal=Signal.FEVER, alarm=AlarmKind.FEVER_CONFIRMED)
    return ask(ctx, Outcome.NEED_TEMPERATURE, Signal.MEASURE_AGAIN)
