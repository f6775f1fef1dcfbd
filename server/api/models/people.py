"""Request and response models of residents and visitors (phones masked; one reveal route)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field, model_validator

from server.api.models.passes import PassIssued
from server.api.types import (
    Name,
    Note,
    Phone,
    Public,
    Reason,
    RowId,
    Strict,
    Time,
    text,
)
from server.services.text import mask_phone


def masked(model: type[Public], data: Any) -> Any:
    """A record (or dict) with a phone, as a response may show it: the phone masked only."""
    if not isinstance(data, dict):
        names = (*model.model_fields, "phone")
        data = {name: getattr(data, name) for name in names if hasattr(data, name)}
    if "phone" in data:
        data = {**data, "phone_masked": mask_phone(data["phone"])}
        data.pop("phone")
    return data


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
        return masked(cls, data)


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
        return masked(cls, data)


class VisitorRegistered(Public):
    """A registered visitor and their pass."""

    visitor: VisitorOut
    pass_: PassIssued = Field(alias="pass")

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class ErasureOut(Public):
    """The receipt of an erasure."""

    id: int
    at: int
    subject: str
    passes_revoked: int
