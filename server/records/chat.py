"""Records of the alerts sent to the staff's group chat (issue 17 item 5)."""

from __future__ import annotations

from server.records.base import Record


class ChatChannel(Record, frozen=True, kw_only=True):
    """A group-chat robot an admin set up; ``url`` and ``secret`` are never shown back."""

    id: int
    name: str
    vendor: str
    url: str
    secret: str | None
    language: str
    enabled: bool
    created_at: int
    updated_at: int


class ChatRoute(Record, frozen=True, kw_only=True):
    """One alert kind routed to one channel."""

    channel_id: int
    kind: str


class ChatNotice(Record, frozen=True, kw_only=True):
    """An alert raised or counted again, waiting for the worker to fold it into a delivery."""

    id: int
    alert_id: int
    kind: str
    gate: str | None
    at: int


class ChatDelivery(Record, frozen=True, kw_only=True):
    """One message to one channel: the occurrences folded into it, its attempts, its state."""

    id: int
    channel_id: int
    kind: str
    state: str
    count: int
    alert_id: int
    gates: list[str]
    first_at: int
    last_at: int
    not_before: int
    attempts: int
    next_at: int
    sent_at: int | None
    error: str | None
