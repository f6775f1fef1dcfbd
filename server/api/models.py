"""Request and response models of the JSON API (separate: nothing a client sends is echoed as-is).

Responses never carry a full phone number: ``phone_masked`` only, and the one reveal route.
"""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

from pydantic import Field, model_validator

from protocol.messages import LaneDirection
from server.api.types import (
    Label,
    Name,
    Note,
    Phone,
    Public,
    Reason,
    RowId,
    Strict,
    Time,
    ZoneId,
    text,
)
from server.services.text import mask_phone

T = TypeVar("T")


class PageOut(Public, Generic[T]):
    """One page of a listing."""

    items: list[T]
    total: int
    page: int
    size: int


class ZoneIn(Strict):
    """A new zone; its number is printed into passes."""

    id: ZoneId
    name: Name


class ZonePatch(Strict):
    """Rename a zone."""

    name: Name


class ZoneOut(Public):
    """A zone."""

    id: int
    name: str


class GateIn(Strict):
    """A new gate (one lane)."""

    id: text(32, 1)  # type: ignore[valid-type]
    zone_id: ZoneId
    name: Name
    direction: LaneDirection


class GatePatch(Strict):
    """Change a gate."""

    zone_id: ZoneId | None = None
    name: Name | None = None
    direction: LaneDirection | None = None


class GateOut(Public):
    """A gate."""

    id: str
    zone_id: int
    name: str
    direction: str


class HouseholdIn(Strict):
    """A new household (building, unit, room are unique together)."""

    zone_id: ZoneId
    building: Label
    unit: Label = ""
    room: Label


class HouseholdPatch(Strict):
    """Change a household."""

    zone_id: ZoneId | None = None
    building: Label | None = None
    unit: Label | None = None
    room: Label | None = None


class HouseholdOut(Public):
    """A household."""

    id: int
    zone_id: int
    building: str
    unit: str
    room: str
    label: str
    hold_until: int | None


class HoldIn(Strict):
    """Home observation for a whole household until a time (null clears it)."""

    until: Time | None


class CutoffIn(Strict):
    """Why a household is cut off (move-out, phone change)."""

    reason: Reason


class ResidentIn(Strict):
    """A new resident."""

    household_id: RowId
    name: Name
    phone: Phone | None = None
    role: Literal["owner", "tenant", "family"]
    note: Note | None = None
    consent_version: text(32) | None = None  # type: ignore[valid-type]
    consent_at: Time | None = None


class ResidentPatch(Strict):
    """Change a resident (fields left out stay as they are)."""

    household_id: RowId | None = None
    name: Name | None = None
    phone: Phone | None = None
    role: Literal["owner", "tenant", "family"] | None = None
    note: Note | None = None
    consent_version: text(32) | None = None  # type: ignore[valid-type]
    consent_at: Time | None = None


class ObservationIn(Strict):
    """Set or end home observation."""

    status: Literal["normal", "home_observation"]
    start: Time | None = None
    end: Time | None = None


class RevealIn(Strict):
    """Why the full phone number is needed (kept in the audit log)."""

    reason: Reason


class PhoneOut(Public):
    """A revealed phone number."""

    phone: str | None


class ResidentOut(Public):
    """A resident, phone masked."""

    id: int
    household_id: int
    zone_id: int
    label: str
    name: str
    phone_masked: str | None
    role: str
    status: str
    observation_start: int | None
    observation_end: int | None
    consent_version: str | None
    consent_at: int | None
    note: str | None
    created_at: int
    updated_at: int

    @model_validator(mode="before")
    @classmethod
    def _mask(cls, data: Any) -> Any:
        if isinstance(data, dict) and "phone" in data:
            data = {**data, "phone_masked": mask_phone(data["phone"])}
            data.pop("phone")
        return data


class VisitorIn(Strict):
    """Register a visitor and issue their pass."""

    host_household_id: RowId
    name: Name
    phone: Phone
    purpose: text(200, 1)  # type: ignore[valid-type]
    hours: int = Field(ge=1, le=72)
    uses: int = Field(default=2, ge=1, le=20)


class VisitorOut(Public):
    """A visitor, phone masked."""

    id: int
    host_household_id: int
    label: str
    name: str
    phone_masked: str
    purpose: str
    valid_from: int
    valid_until: int

    @model_validator(mode="before")
    @classmethod
    def _mask(cls, data: Any) -> Any:
        if isinstance(data, dict) and "phone" in data:
            data = {**data, "phone_masked": mask_phone(data["phone"])}
            data.pop("phone")
        return data
