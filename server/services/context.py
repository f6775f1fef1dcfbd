"""What every service call needs to know about its caller and its surroundings.

An ``Actor`` is who acts (a staff account, or the CLI) with the zones they may touch; an ``Env``
is the database, the key directory, the clock, the settings and the process's live hub
(server.services.live). Routes build both from their
dependencies; the CLI builds them from ``--data``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from server.clock import Clock
from server.config import ServerSettings
from server.services.live import Hub
from server.store.db import Database


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting: name for the audit log, role, zone scope (None: all) and address."""

    name: str
    role: str
    scope: frozenset[int] | None
    staff_id: int | None = None
    address: str | None = None

    @property
    def is_admin(self) -> bool:
        """Admins manage the whole registry."""
        return self.role == "admin"


CLI_ACTOR = Actor(name="cli", role="admin", scope=None)


@dataclass(frozen=True, slots=True)
class Env:
    """The process's resources, handed to services explicitly."""

    db: Database
    settings: ServerSettings
    clock: Clock
    hub: Hub = field(default_factory=Hub)  # live notices of what this process committed

    @property
    def keys_dir(self) -> Path:
        """Private key files."""
        return self.settings.keys_dir
