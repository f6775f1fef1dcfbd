"""Records of incidents (issue 17 items 2 and 3): what staff did about an alert, and refused
checks recorded at a lane's console."""

from __future__ import annotations

from server.records.base import Record


class AlertAction(Record, frozen=True, kw_only=True):
    """One thing a staff member did about an alert: a call, a reissue, an unlock, the outcome."""

    id: int
    alert_id: int
    at: int
    actor: str
    action: str  # call, reissue, unlock, outcome
    outcome: str | None  # the outcome's code (dissuaded, educated, false_alarm)
    note: str | None


class CheckRefusal(Record, frozen=True, kw_only=True):
    """Someone refused the check at a lane (拒绝检测/劝返), as the console recorded it."""

    id: int
    at: int
    gate: str
    zone_id: int
    household_id: int | None
    pass_ref: str | None
    event_id: str | None  # the scan it was taken from, when it was the lane's last scan
    actor: str
    note: str | None
