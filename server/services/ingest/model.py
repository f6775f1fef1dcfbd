"""The values one ingest batch is made of: messages in, accepted or rejected, a result out."""

from __future__ import annotations

from dataclasses import dataclass, field

from protocol.messages import CommandResult, GateEvent, GateStatus
from protocol.topics import TopicKind
from server.services.context import Actor
from server.services.live import Notice

LINK_ACTOR = Actor(name="mqtt-link", role="admin", scope=None)  # who the audit log says acted


@dataclass(frozen=True, slots=True)
class Message:
    """One MQTT message as received."""

    topic: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class Accepted:
    """A valid message from a gate, decoded."""

    message: Message
    kind: TopicKind
    gate: str
    body: GateEvent | GateStatus | CommandResult


@dataclass(frozen=True, slots=True)
class Rejected:
    """A message that goes to the dead-letter table; ``impersonation`` ones are also audited."""

    message: Message
    reason: str
    detail: str
    gate: str | None = None
    impersonation: bool = False


Item = Accepted | Rejected


@dataclass
class BatchResult:
    """What to do once the batch is committed: acks per gate, notices for live views."""

    acks: dict[str, int] = field(default_factory=dict)
    notices: list[Notice] = field(default_factory=list)
    stored: int = 0
    duplicates: int = 0
    dead: int = 0

    def merge(self, part: BatchResult) -> None:
        """Add a part's outcome (a batch retried message by message)."""
        for gate, seq in part.acks.items():
            self.acks[gate] = max(seq, self.acks.get(gate, 0))
        self.notices += part.notices
        self.stored += part.stored
        self.duplicates += part.duplicates
        self.dead += part.dead
