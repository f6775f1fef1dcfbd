"""What ingest does with one batch of MQTT messages, inside one write transaction.

``classify`` (pure) validates a message with the protocol package: the topic must be one of
ours, of this site and a kind gates send; the payload must decode strictly; the gate in the
payload must be the gate of the topic (the broker ACL already binds the topic to the account);
an event's time must not be far in the future or older than the event retention. Anything
else becomes a dead letter with the reason. ``commit`` stores what was accepted idempotently and
returns the acks to send and the notices for live views, all after the caller commits.
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass, field
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection

from protocol import messages
from protocol.errors import MessageError, TopicError
from protocol.messages import CommandResult, GateEvent, GateStatus
from protocol.topics import Topic, TopicKind, parse_topic
from server.services import audit
from server.services.alerts.raising import AlertKind, occurred
from server.services.context import Actor
from server.services.ingest.events import store_events
from server.services.ingest.status import store_result, store_status
from server.store import ingest as ingest_store
from server.store import registry

logger = logging.getLogger(__name__)

LINK_ACTOR = Actor(name="mqtt-link", role="admin", scope=None)
MAX_FUTURE_MS = 3600 * 1000  # an event an hour ahead of the server's clock is refused
_MODELS: dict[TopicKind, type[msgspec.Struct]] = {
    TopicKind.EVENTS: GateEvent,
    TopicKind.STATUS: GateStatus,
    TopicKind.COMMAND_RESULTS: CommandResult,
}
_SNAKE = re.compile(r"(?<!^)(?=[A-Z])")


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


@dataclass
class BatchResult:
    """What to do once the batch is committed: acks per gate, notices for live views."""

    acks: dict[str, int] = field(default_factory=dict)
    notices: list[dict[str, Any]] = field(default_factory=list)
    stored: int = 0
    duplicates: int = 0
    dead: int = 0


def _reason(exc: Exception) -> str:
    return _SNAKE.sub("_", type(exc).__name__).lower()


@functools.lru_cache(maxsize=1024)
def _parsed(text: str) -> Topic | str:
    """``parse_topic`` once per distinct topic (a site has a few dozen): the topic, or why not."""
    try:
        return parse_topic(text)
    except TopicError as exc:
        return str(exc)


def _topic(site: str, message: Message) -> Topic | Rejected:
    """The parsed topic if it is a per-gate topic of this site that the server ingests."""
    topic = _parsed(message.topic)
    if isinstance(topic, str):
        return Rejected(message, "bad_topic", topic)
    if topic.site != site:
        return Rejected(message, "wrong_site", f"topic of site {topic.site}", topic.gate)
    if topic.kind not in _MODELS or topic.gate is None:
        return Rejected(message, "not_for_server", f"{topic.kind.value} is not ingested")
    return topic


def classify(site: str, message: Message, *, now_ms: int, oldest_ms: int) -> Accepted | Rejected:
    """Validate one message without touching the database."""
    topic = _topic(site, message)
    if isinstance(topic, Rejected):
        return topic
    gate = topic.gate
    assert gate is not None
    try:
        body = messages.decode(topic.kind, message.payload, _MODELS[topic.kind])
    except MessageError as exc:
        return Rejected(message, _reason(exc), str(exc)[:500], gate)
    assert isinstance(body, GateEvent | GateStatus | CommandResult)
    if (body.site, body.gate) != (site, gate):
        detail = f"payload says {body.site}/{body.gate} on the topic of {gate}"
        return Rejected(message, "gate_mismatch", detail, gate, impersonation=True)
    if isinstance(body, GateEvent):
        problem = _time_problem(body, now_ms=now_ms, oldest_ms=oldest_ms)
        if problem is not None:
            return Rejected(message, problem, f"event at {body.at} ms", gate)
    return Accepted(message, topic.kind, gate, body)


def _time_problem(event: GateEvent, *, now_ms: int, oldest_ms: int) -> str | None:
    """Far in the future (an hour past the server's clock) or older than the event retention."""
    if event.at > now_ms + MAX_FUTURE_MS:
        return "time_in_future"
    return "time_too_old" if event.at < oldest_ms else None


async def commit(
    conn: AsyncConnection,
    items: list[Accepted | Rejected],
    *,
    now: int,
    backlog: int,
) -> BatchResult:
    """Store a classified batch in the caller's transaction; nothing is acked before commit."""
    result = BatchResult()
    lanes = {g["id"]: g for g in await registry.list_gates(conn, scope=None)}
    pending: dict[str, list[Accepted]] = {}
    for given in items:
        item = given
        if isinstance(item, Accepted) and item.gate not in lanes:
            item = Rejected(item.message, "unknown_gate", "gate is not registered", item.gate)
        if isinstance(item, Rejected):
            await dead_letter(conn, item, now=now, result=result)
        elif item.kind == TopicKind.EVENTS:
            pending.setdefault(item.gate, []).append(item)  # stored together, per gate
            continue
        await _flush(conn, lanes, pending, now=now, result=result)  # arrival order around statuses
        if isinstance(item, Accepted) and isinstance(item.body, GateStatus):
            await store_status(conn, item.body, now=now, backlog=backlog, result=result)
        elif isinstance(item, Accepted) and isinstance(item.body, CommandResult):
            await _result(conn, item, item.body, now=now, result=result)
    await _flush(conn, lanes, pending, now=now, result=result)
    return result


async def _result(
    conn: AsyncConnection, item: Accepted, body: CommandResult, *, now: int, result: BatchResult
) -> None:
    """Record a command's answer; one we never sent is a dead letter."""
    if not await store_result(conn, body, result=result):
        unknown = Rejected(item.message, "unknown_command", "no such request", item.gate)
        await dead_letter(conn, unknown, now=now, result=result)


async def _flush(
    conn: AsyncConnection,
    lanes: dict[str, dict[str, Any]],
    pending: dict[str, list[Accepted]],
    *,
    now: int,
    result: BatchResult,
) -> None:
    """Store the events collected so far, gate by gate; dead-letter reused event ids."""
    reuse = "event id stored already with another gate or seq"
    for gate, accepted in pending.items():
        for item in await store_events(conn, lanes[gate], accepted, now=now, result=result):
            await dead_letter(
                conn, Rejected(item.message, "event_id_reuse", reuse, gate), now=now, result=result
            )
    pending.clear()


async def dead_letter(
    conn: AsyncConnection, item: Rejected, *, now: int, result: BatchResult
) -> None:
    """Keep a rejected message; a gate speaking for another gate is audited and alerted."""
    letter = await ingest_store.dead_letter(
        conn, topic=item.message.topic, gate=item.gate, reason=item.reason,
        detail=item.detail, payload=item.message.payload, now=now,
    )  # fmt: skip
    result.dead += 1
    result.notices.append({"type": "dead_letter", "id": letter, "reason": item.reason})
    logger.warning("dead letter %d on %s: %s", letter, item.message.topic[:120], item.reason)
    if item.impersonation:
        await audit.record(
            conn, LINK_ACTOR, "ingest.gate_mismatch", at=now, target=f"gate:{item.gate}",
            dead_letter=letter,
        )  # fmt: skip
        alert = await occurred(
            conn, AlertKind.IMPERSONATION, gate=item.gate, now=now, dead_letter=letter
        )
        result.notices.append({"type": "alert", "alert": alert})
