"""The values one ingest batch is made of: messages in, accepted or rejected, a result out."""

from __future__ import annotations

from dataclasses import dataclass, field

from protocol.messages import CommandResult, GateEvent, GateStatus
from protocol.reasons import RefusalCode
from protocol.topics import TopicKind
from server.services.context import Actor
from server.services.live import Notice

LINK_ACTOR = Actor(name="mqtt-link", role="admin", scope=None)  # who the audit log says acted
_REFUSAL_CODES = frozenset(code.value for code in RefusalCode)


@dataclass(frozen=True, slots=True)
class Message:
    """One MQTT message as received; ``seq`` is the event seq its user property names (gates
    of this version send it with every event they send again), so even an unreadable payload
    has one."""

    topic: str
    payload: bytes
    seq: int | None = None
    retain: bool = False  # as published (MQTT 5 retain-as-published)


@dataclass(frozen=True, slots=True)
class Accepted:
    """A valid message from a gate, decoded."""

    message: Message
    kind: TopicKind
    gate: str
    body: GateEvent | GateStatus | CommandResult


@dataclass(frozen=True, slots=True)
class Rejected:
    """A message that goes to the dead-letter table; ``impersonation`` ones are also audited.
    ``seq`` is the gate's seq of a refused event, when known: its ack names it as refused."""

    message: Message
    reason: str
    detail: str
    gate: str | None = None
    impersonation: bool = False
    seq: int | None = None

    @property
    def refusal(self) -> tuple[str, int, RefusalCode] | None:
        """(gate, seq, code) when the gate is to be told its event was refused."""
        if self.gate is None or self.seq is None or self.reason not in _REFUSAL_CODES:
            return None
        return self.gate, self.seq, RefusalCode(self.reason)


Item = Accepted | Rejected


@dataclass
class BatchResult:
    """What to do once the batch is committed: acks per gate (the highest contiguous settled
    seq, and the refused seqs to name), notices for live views. ``windows`` keeps each gate's
    acked seq from before the batch moved it, so the refusals it passed are named too.
    ``revocations_changed``: the batch bumped the revocation seq (a lock), publish now."""

    acks: dict[str, int] = field(default_factory=dict)
    refused: dict[str, dict[int, RefusalCode]] = field(default_factory=dict)
    windows: dict[str, int] = field(default_factory=dict)
    notices: list[Notice] = field(default_factory=list)
    stored: int = 0
    duplicates: int = 0
    dead: int = 0
    revocations_changed: bool = False

    def moving(self, gate: str, acked: int) -> None:
        """The gate's window is about to move from ``acked`` (the first call of a batch wins)."""
        self.windows.setdefault(gate, acked)

    def refuse(self, gate: str, seq: int, code: RefusalCode) -> None:
        """Name ``seq`` as refused in the gate's ack (once the ack reaches it)."""
        self.refused.setdefault(gate, {})[seq] = code

    def merge(self, part: BatchResult) -> None:
        """Add a part's outcome (a batch retried message by message)."""
        for gate, seq in part.acks.items():
            self.acks[gate] = max(seq, self.acks.get(gate, 0))
        for gate, acked in part.windows.items():
            self.windows[gate] = min(acked, self.windows.get(gate, acked))
        for gate, codes in part.refused.items():
            self.refused.setdefault(gate, {}).update(codes)
        self.notices += part.notices
        self.stored += part.stored
        self.duplicates += part.duplicates
        self.dead += part.dead
        self.revocations_changed |= part.revocations_changed
