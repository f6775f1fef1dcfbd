"""Request and response models of passes, signing keys and the revocation list."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from server.api.types import (
    Note,
    Public,
    Reason,
    RowId,
    Strict,
    text,
)


class PassIssueIn(Strict):
    """Issue one pass: for a resident or (admins) a staff member."""

    resident_id: RowId | None = None
    staff_id: RowId | None = None
    days: int | None = Field(default=None, ge=1, le=366)

    @model_validator(mode="after")
    def _one_holder(self) -> PassIssueIn:
        if (self.resident_id is None) == (self.staff_id is None):
            raise ValueError("name exactly one of resident_id and staff_id")
        return self


class BulkIssueIn(Strict):
    """Issue passes for every resident of some households or of a building."""

    household_ids: list[RowId] = Field(default_factory=list, max_length=2000)
    building: text(32) | None = None  # type: ignore[valid-type]
    days: int | None = Field(default=None, ge=1, le=366)


class EveryoneIn(Strict):
    """Passes for everyone, once: every resident of the site, or of a zone, a building or a unit
    of it, who has no live pass (a unit needs its building)."""

    zone_id: RowId | None = None
    building: text(32) | None = None  # type: ignore[valid-type]
    unit: text(32) | None = None  # type: ignore[valid-type]
    days: int | None = Field(default=None, ge=1, le=366)


class PlaceRevokeIn(Strict):
    """Revoke every live pass of a building, or of one unit of it; the reason is required."""

    zone_id: RowId | None = None
    building: text(32, 1)  # type: ignore[valid-type]
    unit: text(32) | None = None  # type: ignore[valid-type]
    reason: Note | None = None


class RevokeIn(Strict):
    """Why a pass is revoked."""

    reason: Reason


class BulkRevokeIn(Strict):
    """Revoke several passes at once (all or nothing)."""

    pass_ids: list[RowId] = Field(min_length=1, max_length=1000)
    reason: Reason


class UnlockIn(Strict):
    """Why staff clear a pass's lock (the ID check they made): required, in ``reason`` (``note``
    is its older name and is still read)."""

    reason: Note | None = None
    note: Note | None = None

    @property
    def why(self) -> str | None:
        """The reason given, under either name."""
        return self.reason if self.reason and self.reason.strip() else self.note


class LockOut(Public):
    """A pass locked after wrong phone digits at a lane; cleared when ``cleared_at`` is set."""

    ref: str
    gate: str
    event_id: str
    locked_at: int
    recorded_at: int
    cleared_at: int | None
    cleared_by: str | None
    clear_note: str | None


class PassOut(Public):
    """A pass as the registry knows it (the pass text only in PassIssued)."""

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
    revoke_reason: str | None


class PassIssued(PassOut):
    """A newly issued pass with its QR text."""

    text: str


class NotIssuedOut(Public):
    """A resident a bulk issue left out, and the error code that says why."""

    resident_id: int
    household_id: int
    reason: str


class EveryoneOut(Public):
    """What a run issued: counts, and whom it left out and why (moved_out, unprintable_holder)."""

    issued: int
    already_had: int
    skipped: list[NotIssuedOut]


class BulkIssued(Public):
    """What a bulk issue made, and whom it could not issue (everyone else was issued)."""

    issued: list[PassIssued]
    skipped: list[NotIssuedOut]


class CountOut(Public):
    """How many objects an operation changed."""

    count: int


class KeyOut(Public):
    """A signing key's public metadata."""

    kid: str
    use: str
    sign_from: int
    sign_until: int
    verify_until: int
    created_at: int
    retired_at: int | None


class RotateIn(Strict):
    """Which kind of key to rotate."""

    use: Literal["pass", "revlist", "control"]


class RetireOut(Public):
    """A retired key and how many live passes it took with it."""

    kid: str
    passes_killed: int


class RevocationOut(Public):
    """The current revocation list in numbers (the signed list is published over MQTT)."""

    seq: int
    issued_at: int
    revoked_refs: int
    cutoffs: int
    pass_holds: int
    household_holds: int
