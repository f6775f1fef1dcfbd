"""The kinds of alert and how serious each is (docs/operations.md says what to do about each)."""

from __future__ import annotations

from enum import StrEnum


class AlertKind(StrEnum):
    """Every kind of alert; append-only, like reason codes."""

    FEVER = "fever"
    SUSPECTED_LENDING = "suspected_lending"
    REPEATED_REFUSALS = "repeated_refusals"
    IMPOSSIBLE_TRAVEL = "impossible_travel"
    GATE_OFFLINE = "gate_offline"
    DEVICE_FAULT = "device_fault"
    OUTBOX_BACKLOG = "outbox_backlog"
    CLOCK_UNTRUSTED = "clock_untrusted"
    REVOCATION_STALE = "revocation_stale"
    DOOR = "door"
    SEQ_REPLAY = "seq_replay"
    SEQ_GAP = "seq_gap"
    IMPERSONATION = "impersonation"
    EVENT_REFUSED = "event_refused"  # a gate's event the server can never store (a dead letter)
    LOCK_FLOOD = "lock_flood"  # one lane reports more locks than a lane plausibly places
    SESSION_TAKEOVER = "session_takeover"  # a broker account's session taken over, again and again
    FOLLOWUP_SYMPTOMS = "followup_symptoms"  # a follow-up call reports a fever or symptoms
    FOLLOWUP_UNREACHED = "followup_unreached"  # two unanswered follow-up calls in one day


SEVERITY = {
    AlertKind.FEVER: "high",
    AlertKind.SUSPECTED_LENDING: "high",
    AlertKind.IMPOSSIBLE_TRAVEL: "high",
    AlertKind.IMPERSONATION: "high",
    AlertKind.DOOR: "high",
    AlertKind.SESSION_TAKEOVER: "high",
    AlertKind.LOCK_FLOOD: "high",
    AlertKind.GATE_OFFLINE: "medium",
    AlertKind.DEVICE_FAULT: "medium",
    AlertKind.REVOCATION_STALE: "medium",
    AlertKind.REPEATED_REFUSALS: "medium",
    AlertKind.SEQ_REPLAY: "medium",
    AlertKind.SEQ_GAP: "medium",
    AlertKind.EVENT_REFUSED: "medium",
    AlertKind.OUTBOX_BACKLOG: "low",
    AlertKind.CLOCK_UNTRUSTED: "low",
    AlertKind.FOLLOWUP_SYMPTOMS: "high",
    AlertKind.FOLLOWUP_UNREACHED: "medium",
}
