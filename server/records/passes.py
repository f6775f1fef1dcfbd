"""Records of passes, their holders' cutoffs and holds, and the signing keys."""

from __future__ import annotations

from server.records.base import Record


class HeldPass(Record, frozen=True, kw_only=True):
    """A pass without its secret parts (what a resident's data export shows)."""

    id: int
    ref: str
    kind: str
    resident_id: int | None
    visitor_id: int | None
    staff_id: int | None
    household_id: int | None
    zones: list[int]
    kid: str
    issued_by: str
    issued_at: int
    not_before: int
    expires: int
    revoked_at: int | None
    revoked_by: str | None
    revoke_reason: str | None
    renewed_from: str | None


class Pass(HeldPass, frozen=True, kw_only=True):
    """An issued pass: its random id and its text (wiped when the holder is erased)."""

    pass_id: bytes
    text: str | None


class PrintablePass(Pass, frozen=True, kw_only=True):
    """A live pass with its holder's name and unit label, for a card."""

    holder_name: str | None
    label: str | None
    building: str | None = None
    unit: str | None = None
    room: str | None = None


class UnitPlace(Record, frozen=True, kw_only=True):
    """A unit (单元) of a building in a zone, as households name it (cards are per unit)."""

    zone_id: int
    building: str
    unit: str


class PassHolder(Record, frozen=True, kw_only=True):
    """A live pass's ref and its resident (home-observation holds)."""

    ref: str
    resident_id: int


class PassLock(Record, frozen=True, kw_only=True):
    """A pass locked after wrong phone digits at ``gate``; active while ``cleared_at`` is None."""

    id: int
    ref: str
    gate: str
    event_id: str
    locked_at: int
    recorded_at: int
    cleared_at: int | None
    cleared_by: str | None
    clear_note: str | None


class HouseholdCutoff(Record, frozen=True, kw_only=True):
    """Every pass of the household issued before ``at`` is dead."""

    household_id: int
    at: int
    reason: str


class HouseholdHold(Record, frozen=True, kw_only=True):
    """A household under home observation until ``hold_until``."""

    id: int
    hold_until: int


class Key(Record, frozen=True, kw_only=True):
    """A signing key's public half and windows (the private half is a file)."""

    kid: str
    use: str
    public_raw: bytes
    file: str
    sign_from: int
    sign_until: int
    verify_until: int
    created_at: int
    retired_at: int | None


class PhoneKey(Record, frozen=True, kw_only=True):
    """A version of a phone-tag key (the key itself is a file): one zone's (the passes of that
    zone alone) or, with no zone, the site's (passes valid in several zones)."""

    version: int
    file: str
    created_at: int
    retired_at: int | None
    zone_id: int | None = None


class Manifest(Record, frozen=True, kw_only=True):
    """A signed key manifest."""

    seq: int
    issued_at: int
    signed: bytes


class CardPin(Record, frozen=True, kw_only=True):
    """The card PIN of a pass of a resident without a phone: only its keyed hash is kept, and
    the PIN itself (``pending``) only until the card is printed."""

    ref: str
    resident_id: int | None
    key_version: int
    pin_hash: bytes
    pending: str | None
    created_at: int
    printed_at: int | None
