"""The values the gate's pure core takes and returns: attempts, temperatures, signals, decisions.

Nothing here touches a device: a ``Signal`` names what the person should see and hear, and
the controller maps it onto the LED and buzzer patterns of the actual hardware.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

from protocol.claims import PassClaims, PassKind
from protocol.errors import PassError
from protocol.messages import AlarmKind, LaneDirection, Mode, Policy, TemperatureReading
from protocol.reasons import ReasonCode
from protocol.revocation import RevocationState


class Outcome(Enum):
    """Where the lane goes next: a final answer, or one more input to collect."""

    GRANT = "grant"
    DENY = "deny"
    NEED_DIGITS = "need_digits"
    NEED_TEMPERATURE = "need_temperature"


class Step(Enum):
    """The steps of the lane flow that can time out."""

    DIGITS = "digits"
    TEMPERATURE = "temperature"


class Signal(Enum):
    """What the lane shows and sounds; the controller maps these to LED and buzzer patterns."""

    GRANTED = "granted"
    DENIED = "denied"
    FEVER = "fever"
    ENTER_DIGITS = "enter_digits"
    WRONG_DIGITS = "wrong_digits"
    MEASURE = "measure"
    MEASURE_AGAIN = "measure_again"
    FAULT = "fault"


class Prompt(Enum):
    """Which four digits the lane asks for, named on its display and in its log (the wording is
    in the gate's catalogs, device/messages): the pass's holder-proof claim decides."""

    PHONE_DIGITS = "phone_digits"  # the last four digits of the registered phone
    CARD_PIN = "card_pin"  # the PIN on the card's tear-off strip (a resident without a phone)


@dataclass(frozen=True, slots=True)
class Temperature:
    """One temperature measurement as the core sees it (body = object + offset): the driver's
    ``Reading`` without its time and raw bytes."""

    object_c: float
    ambient_c: float
    offset_c: float
    body_c: float

    def plausible(self, policy: Policy) -> bool:
        """Finite and within the policy's human range; anything else means measure again."""
        values = (self.object_c, self.ambient_c, self.offset_c, self.body_c)
        if not all(math.isfinite(v) for v in values):
            return False
        return policy.plausible_min_c <= self.body_c <= policy.plausible_max_c

    def wire(self) -> TemperatureReading:
        """The event form, as measured. Constructing it checks no ranges: a non-finite or
        out-of-range reading is caught when the event is decoded back before its commit
        (``device.core.events.settle``), never sent as ``null``."""
        return TemperatureReading(
            object_c=self.object_c,
            ambient_c=self.ambient_c,
            offset_c=self.offset_c,
            body_c=self.body_c,
        )


@dataclass(frozen=True, slots=True)
class ScanAttempt:
    """Everything gathered for one person at the lane so far, from the scan of their pass on."""

    result: PassClaims | PassError
    temperatures: tuple[Temperature, ...] = ()
    thermometer_ok: bool = True
    digits: tuple[str, ...] = ()  # each try, in order
    timed_out: Step | None = None
    sample: float = 0.0  # a uniform draw in [0, 1) for sampled phone checks


@dataclass(frozen=True, slots=True)
class Lane:
    """What this gate is and what it currently trusts; built by the controller."""

    site: str
    gate: str
    zone: int
    direction: LaneDirection
    policy: Policy
    mode: Mode = Mode.NORMAL
    clock_trusted: bool = True
    link_up: bool = True
    revocations: RevocationState | None = None
    phone_keys: Mapping[int, bytes] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EventDraft:
    """An event before the store gives it an id, a sequence number and a time."""

    granted: bool | None
    reason: ReasonCode | None
    alarm: AlarmKind | None = None
    pass_ref: str | None = None
    pass_kind: PassKind | None = None
    temperatures: tuple[Temperature, ...] = ()
    operator: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """The core's answer: outcome, reason, what to signal, whether to open, what to record."""

    outcome: Outcome
    reason: ReasonCode
    signal: Signal
    open_ms: int = 0
    events: tuple[EventDraft, ...] = ()
    prompt: Prompt | None = None  # with NEED_DIGITS: which digits to type

    @property
    def final(self) -> bool:
        """True when the lane is done with this person."""
        return self.outcome in (Outcome.GRANT, Outcome.DENY)
