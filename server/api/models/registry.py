"""Request and response models of zones, gates (lanes) and households."""

from __future__ import annotations

from protocol.messages import LaneDirection
from server.api.types import (
    Label,
    Name,
    Public,
    Reason,
    Strict,
    Time,
    ZoneId,
    text,
)


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
