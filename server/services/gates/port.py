"""What the services and the HTTP edge need from the running broker link.

server.link.session.ServerLink satisfies ``RunningLink``; the lifespan puts it (or None, when
the server runs without a broker) into the request state, and server.http.deps hands it out.
Nothing here imports server.link: the link depends on the services, not the other way round.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class Sender(Protocol):
    """The link as the command service sees it."""

    @property
    def connected(self) -> bool:
        """Whether the broker link is up."""

    async def publish_wait(
        self, topic: str, payload: bytes, *, retain: bool = False, wait_s: float = 10.0
    ) -> bool:
        """Publish and wait for the broker's PUBACK."""


@dataclass(frozen=True, slots=True)
class LinkReport:
    """The link's state for the API (``GET /api/v1/link``) and logs."""

    connected: bool
    session_present: bool
    connects: int
    granted: dict[str, int]
    last_error: str | None
    queue: int
    received: int
    stored: int
    duplicates: int
    dead_letters: int
    retries: int
    stalled: bool
    published: dict[str, int]
    live_subscribers: int


class RunningLink(Sender, Protocol):
    """The link as the HTTP edge sees it: commands, and its state."""

    def describe(self) -> LinkReport:
        """The session's and the ingest's state."""

    def poke(self) -> None:
        """Look for something to publish (a changed revocation list) now."""
