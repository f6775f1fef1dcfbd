"""What the lane says and shows for each decision: a pure mapping from the core's answer to a
``Cue`` (the display's phase and line, the clips to speak), so every reason code is testable
without a speaker or a screen.

The words themselves live in protocol/wording (one catalog for voice, display and console); a
cue only names catalog keys and clip ids.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from device.core.model import Decision, Outcome, ScanAttempt, Signal
from protocol.claims import PassClaims, PassKind
from protocol.messages import Mode, Policy
from protocol.reasons import ReasonCode
from protocol.wording import reason_key, temperature_clips


class Phase:
    """The display's phases (strings on the wire of the lane page's event stream)."""

    READY = "ready"  # waiting for a pass
    DIGITS = "digits"  # four digits asked for
    MEASURE = "measure"  # a temperature asked for
    RESULT = "result"  # granted or denied, for a few seconds
    CLOSED = "closed"  # lockdown or maintenance: no pass opens the lane
    FREE = "free"  # free passage: the lane is held open


@dataclass(frozen=True, slots=True)
class Cue:
    """One state of the lane as a person sees and hears it."""

    phase: str
    line: str  # the catalog key of the main text
    speech: tuple[str, ...] = ()  # clip ids, in order
    granted: bool | None = None
    reason: str | None = None  # the ReasonCode value of a result
    temperature_c: float | None = None
    name: str | None = None  # a granted resident's masked name (from the pass)
    unit: str | None = None  # and unit label
    wait_s: int | None = None  # the step's timeout: the display counts down from it
    digits: int = 0  # digits typed so far (shown as dots, never the digits)


def ready(mode: Mode) -> Cue:
    """What the lane shows while nobody is at it, by its mode."""
    if mode == Mode.LOCKDOWN:
        return Cue(Phase.CLOSED, "step.closed")
    if mode == Mode.MAINTENANCE:
        return Cue(Phase.CLOSED, "step.maintenance")
    if mode == Mode.FREE_PASSAGE:
        return Cue(Phase.FREE, "step.free")
    return Cue(Phase.READY, "step.scan")


def mode_changed(mode: Mode) -> Cue:
    """A mode change is announced once, then stays on the screen."""
    shown = ready(mode)
    return shown if mode == Mode.NORMAL else Cue(shown.phase, shown.line, (shown.line,))


def for_decision(decision: Decision, attempt: ScanAttempt, policy: Policy) -> Cue:
    """The cue for one answer of the core: a step to ask for, or a result."""
    if decision.outcome == Outcome.NEED_DIGITS:
        prompt = decision.prompt.value if decision.prompt is not None else "phone_digits"
        key = "step.wrong_digits" if decision.signal == Signal.WRONG_DIGITS else f"step.{prompt}"
        return Cue(Phase.DIGITS, key, (key,), wait_s=policy.step_timeout_s)
    if decision.outcome == Outcome.NEED_TEMPERATURE:
        return _measure(decision, attempt, policy)
    return _result(decision, attempt, policy)


def _last_body(attempt: ScanAttempt) -> float | None:
    if not attempt.temperatures:
        return None
    body = attempt.temperatures[-1].body_c
    return body if math.isfinite(body) else None


def _measure(decision: Decision, attempt: ScanAttempt, policy: Policy) -> Cue:
    body = _last_body(attempt)
    wait = policy.step_timeout_s
    if decision.signal != Signal.MEASURE_AGAIN:
        return Cue(Phase.MEASURE, "step.measure", ("step.measure",), wait_s=wait)
    if body is not None and policy.plausible_min_c <= body <= policy.plausible_max_c:
        said = (*temperature_clips(body), "step.fever_retest")
        return Cue(Phase.MEASURE, "step.fever_retest", said, temperature_c=body, wait_s=wait)
    return Cue(Phase.MEASURE, "step.measure_again", ("step.measure_again",), wait_s=wait)


def _result(decision: Decision, attempt: ScanAttempt, policy: Policy) -> Cue:
    body = _last_body(attempt)
    shown = body if body is not None and _plausible(body, policy) else None
    granted = decision.outcome == Outcome.GRANT
    if granted:
        key = "step.granted_normal" if shown is not None else reason_key(decision.reason)
        if decision.reason == ReasonCode.OVERRIDE:
            key = "staff.override"
    else:
        key = reason_key(decision.reason)
    said = (*(temperature_clips(shown) if shown is not None else ()), key)
    name, unit = _holder(attempt) if granted else (None, None)
    return Cue(
        Phase.RESULT,
        key,
        said,
        granted=granted,
        reason=decision.reason.value,
        temperature_c=shown,
        name=name,
        unit=unit,
    )


def _plausible(body: float, policy: Policy) -> bool:
    return policy.plausible_min_c <= body <= policy.plausible_max_c


def _holder(attempt: ScanAttempt) -> tuple[str | None, str | None]:
    """A resident's masked name and unit as the pass carries them (nothing for others)."""
    claims = attempt.result
    if isinstance(claims, PassClaims) and claims.kind == PassKind.RESIDENT:
        return claims.name, claims.unit
    return None, None


def for_override(decision: Decision) -> Cue:
    """A staff override at the lane: opened, or refused after a fever."""
    if decision.outcome == Outcome.GRANT:
        return Cue(
            Phase.RESULT,
            "staff.override",
            ("staff.override",),
            granted=True,
            reason=decision.reason.value,
        )
    key = "staff.override_refused"
    return Cue(Phase.RESULT, key, (key,), granted=False, reason=decision.reason.value)
