"""Staff overrides: the button at the gate and the console's remote open (design.md 4.2).

An override opens the lane once and is always recorded with reason ``override``. It is
attributed to a staff pass scanned at this lane within ``staff_attribution_s`` (or to the
console operator for a remote open). A lane that just denied someone for fever refuses to be
overridden for FEVER_BLOCK_S unless the site policy allows fever overrides.
"""

from __future__ import annotations

from device.core.model import Decision, EventDraft, Lane, Outcome, Signal
from device.core.state import GateState
from protocol.messages import OverrideReason
from protocol.reasons import ReasonCode

__all__ = ["FEVER_BLOCK_S", "attributed_operator", "override"]

FEVER_BLOCK_S = 120


def attributed_operator(state: GateState, lane: Lane, now: int) -> str | None:
    """The staff pass ref to attribute a button override to, if one was scanned recently."""
    seen = state.last_staff
    if seen is not None and now - seen.at <= lane.policy.staff_attribution_s:
        return f"staff-pass:{seen.ref}"
    return None


def override(
    state: GateState,
    lane: Lane,
    now: int,
    *,
    operator: str | None,
    reason: OverrideReason | None,
    note: str | None = None,
) -> tuple[Decision, GateState]:
    """Open once for staff, unless a recent fever denial forbids it under this policy."""
    last = state.last_denial
    fever_recent = (
        last is not None and last[0] == ReasonCode.FEVER and now - last[1] < FEVER_BLOCK_S
    )
    text = reason.value if reason is not None else None
    if note:
        text = f"{text}: {note}" if text else note
    if fever_recent and not lane.policy.fever_overridable:
        refused = EventDraft(granted=False, reason=ReasonCode.FEVER, operator=operator, note=text)
        return Decision(Outcome.DENY, ReasonCode.FEVER, Signal.FEVER, 0, (refused,)), state
    event = EventDraft(granted=True, reason=ReasonCode.OVERRIDE, operator=operator, note=text)
    decision = Decision(
        Outcome.GRANT, ReasonCode.OVERRIDE, Signal.GRANTED, lane.policy.relay_pulse_ms, (event,)
    )
    return decision, state
