"""Reason codes: why a gate decided (``ReasonCode``, shown to staff and logged with every decision,
design.md 4.3) and why an event was refused on its way (``RefusalCode``, in the server's ack and
both dead-letter tables).

Codes are append-only: a code that is retired stays in the enum, and no value is ever reused,
because events already stored on gates and on the server refer to them by value.
"""

from __future__ import annotations

from enum import StrEnum


class ReasonCode(StrEnum):
    """Why a gate granted or denied; values are stable wire strings."""

    OK = "ok"
    # the scanned text and its encoding
    UNREADABLE = "unreadable"
    UNKNOWN_FORMAT = "unknown_format"
    BAD_ENCODING = "bad_encoding"
    MALFORMED = "malformed"
    # signature and keys
    BAD_ALGORITHM = "bad_algorithm"
    UNKNOWN_KEY = "unknown_key"
    KEY_NOT_VALID = "key_not_valid"
    BAD_SIGNATURE = "bad_signature"
    BAD_SCHEMA = "bad_schema"
    # claims against this gate
    WRONG_SITE = "wrong_site"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    WRONG_ZONE = "wrong_zone"
    WRONG_DIRECTION = "wrong_direction"  # logical anti-passback: leaving while recorded outside
    OUTSIDE_SCHEDULE = "outside_schedule"
    # revocation and holds
    REVOKED = "revoked"
    HOUSEHOLD_CUTOFF = "household_cutoff"
    # presence and use
    ALREADY_INSIDE = "already_inside"  # logical anti-passback: entering while recorded inside
    USES_EXHAUSTED = "uses_exhausted"
    UNDER_OBSERVATION = "under_observation"
    # holder binding
    PHONE_MISMATCH = "phone_mismatch"
    PASS_LOCKED = "pass_locked"  # noqa: S105 - a reason code, not a password
    # temperature
    NO_TEMPERATURE = "no_temperature"
    IMPLAUSIBLE_TEMPERATURE = "implausible_temperature"
    FEVER = "fever"
    # gate state
    LOCKDOWN = "lockdown"
    DEVICE_FAULT = "device_fault"
    REGISTRY_STALE = "registry_stale"
    CLOCK_UNTRUSTED = "clock_untrusted"
    OVERRIDE = "override"
    FREE_PASSAGE = "free_passage"
    MAINTENANCE = "maintenance"
    TIMEOUT = "timeout"
    RECENTLY_USED = "recently_used"  # timed anti-passback: the same pass within the window

    @property
    def is_pass_problem(self) -> bool:
        """True for codes that come from the pass itself rather than the gate or the person."""
        return self in _PASS_PROBLEMS


_PASS_PROBLEMS = frozenset(
    {
        ReasonCode.UNREADABLE,
        ReasonCode.UNKNOWN_FORMAT,
        ReasonCode.BAD_ENCODING,
        ReasonCode.MALFORMED,
        ReasonCode.BAD_ALGORITHM,
        ReasonCode.UNKNOWN_KEY,
        ReasonCode.KEY_NOT_VALID,
        ReasonCode.BAD_SIGNATURE,
        ReasonCode.BAD_SCHEMA,
        ReasonCode.WRONG_SITE,
        ReasonCode.NOT_YET_VALID,
        ReasonCode.EXPIRED,
        ReasonCode.REVOKED,
        ReasonCode.HOUSEHOLD_CUTOFF,
    }
)


class RefusalCode(StrEnum):
    """Why an event was refused instead of stored: by the server (its ack names the seq and the
    code) or by the gate's own check before the commit. Values are stable wire strings, the same
    as the dead-letter reasons the server has always written."""

    PAYLOAD_TOO_LARGE = "payload_too_large"
    MALFORMED = "malformed_message"  # not JSON at all, or not the bytes that were meant
    UNKNOWN_FIELD = "unknown_field"
    WRONG_TYPE = "wrong_type"  # includes null where a number belongs (a NaN encoded as JSON)
    OUT_OF_RANGE = "out_of_range"
    UNSUPPORTED_VERSION = "unsupported_version"
    GATE_MISMATCH = "gate_mismatch"  # the payload names another gate than its topic
    TIME_IN_FUTURE = "time_in_future"
    TIME_TOO_OLD = "time_too_old"  # older than the server keeps events
    EVENT_ID_REUSE = "event_id_reuse"  # the event id is stored already with another gate or seq
    HANDLER_ERROR = "handler_error"  # storing it failed on the server for another reason
