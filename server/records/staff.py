"""Records of staff accounts, their sessions and sign-in throttling, and the audit log."""

from __future__ import annotations

from server.records.base import JSONObject, Record


class Staff(Record, frozen=True, kw_only=True):
    """A staff account; ``zone_scope`` None means every zone."""

    id: int
    username: str
    display_name: str
    password_hash: str
    role: str
    zone_scope: list[int] | None
    active: bool
    must_change_password: bool
    generation: int
    created_at: int
    updated_at: int


class StoredSession(Record, frozen=True, kw_only=True):
    """A server-side session (its id only as a hash)."""

    id_hash: str
    staff_id: int
    generation: int
    csrf: str
    created_at: int
    last_seen: int


class LoginFailures(Record, frozen=True, kw_only=True):
    """Failed sign-ins counted for one throttling key."""

    key: str
    count: int
    window_start: int


class AuditEntry(Record, frozen=True, kw_only=True):
    """One row of the append-only audit log."""

    id: int
    at: int
    actor: str
    action: str
    target: str | None
    address: str | None
    detail: JSONObject


class FollowupCaller(Record, frozen=True, kw_only=True):
    """A zone in which an account is a follow-up caller (sees the full numbers it calls)."""

    staff_id: int
    zone_id: int
    granted_at: int
    granted_by: str
