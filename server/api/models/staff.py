"""Request and response models of staff accounts, sign-in, the audit log and retention."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from server.api.types import (
    Name,
    Public,
    Strict,
    ZoneId,
    text,
)
from server.records import JSONObject


class StaffIn(Strict):
    """A new staff account."""

    username: text(32, 2)  # type: ignore[valid-type]
    display_name: Name
    role: Literal["admin", "staff"]
    zone_scope: list[ZoneId] | None = Field(default=None, max_length=64)
    all_zones: bool = False  # the zones are said, never implied: zone_scope or all_zones


class StaffPatch(Strict):
    """Change an account (role and scope changes end its sessions)."""

    display_name: Name | None = None
    role: Literal["admin", "staff"] | None = None
    zone_scope: list[ZoneId] | None = Field(default=None, max_length=64)
    active: bool | None = None


class CallerZonesIn(Strict):
    """The zones in which an account is a follow-up caller (empty: not a caller)."""

    zones: list[ZoneId] = Field(max_length=64)


class CallerZonesOut(Public):
    """An account's follow-up calling zones."""

    staff_id: int
    zones: list[int]


class StaffOut(Public):
    """A staff account (never the hash)."""

    id: int
    username: str
    display_name: str
    role: str
    zone_scope: list[int] | None
    active: bool
    must_change_password: bool


class StaffCreated(Public):
    """A new account and its one-time password (shown once)."""

    staff: StaffOut
    one_time_password: str


class OneTimePassword(Public):
    """A reset one-time password (shown once)."""

    one_time_password: str


class LoginIn(Strict):
    """Credentials."""

    username: text(64, 1)  # type: ignore[valid-type]
    password: text(128, 1)  # type: ignore[valid-type]


class PasswordChangeIn(Strict):
    """Change one's own password."""

    old_password: text(128, 1)  # type: ignore[valid-type]
    new_password: text(128, 1)  # type: ignore[valid-type]


class SessionOut(Public):
    """The signed-in account and the CSRF token to send with every change."""

    staff: StaffOut
    csrf_token: str


class AuditOut(Public):
    """One audit entry."""

    id: int
    at: int
    actor: str
    action: str
    target: str | None
    address: str | None
    detail: JSONObject


class RetentionOut(Public):
    """What the retention job removed."""

    temperatures_cleared: int
    observations_cleared: int
    visitors_deleted: int
    events_deleted: int
    sessions_deleted: int
