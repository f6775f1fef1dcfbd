"""Pure validation of one MQTT message, before anything touches the database.

The topic must be one of ours, of this site and a kind gates send; the payload must decode
strictly; the gate in the payload must be the gate of the topic (the broker ACL already binds
the topic to the account); an event's time must not be far in the future or older than the
event retention; a message on a topic that keeps none (events, command results) must not come
retained: gates never retain them, so a retained one is someone else's, refused and alerted as
an impersonation. Anything else becomes a dead letter with the reason; a refused event also
keeps its seq when it can be known (the publish's user property, else the payload's own
``seq`` if it still says this site and gate), so the gate's ack can name it as refused.
"""

from __future__ import annotations

import functools

import msgspec

from protocol import messages
from protocol.errors import MessageError, TopicError
from protocol.messages import CommandResult, GateEvent, GateStatus
from protocol.topics import Topic, TopicKind, parse_topic
from server.services.ingest.model import Accepted, Message, Rejected

MAX_FUTURE_MS = 3600 * 1000  # an event an hour ahead of the server's clock is refused
_MODELS: dict[TopicKind, type[msgspec.Struct]] = {
    TopicKind.EVENTS: GateEvent,
    TopicKind.STATUS: GateStatus,
    TopicKind.COMMAND_RESULTS: CommandResult,
}


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
    if message.retain and not topic.spec.retained:
        detail = f"a retained {topic.kind.value} message (gates never retain one)"
        return Rejected(message, "retained", detail, gate, impersonation=True)
    try:
        body = messages.decode(topic.kind, message.payload, _MODELS[topic.kind])
    except MessageError as exc:
        seq = refused_seq(site, gate, topic.kind, message)
        return Rejected(message, exc.refusal.value, str(exc)[:500], gate, seq=seq)
    assert isinstance(body, GateEvent | GateStatus | CommandResult)
    if (body.site, body.gate) != (site, gate):
        detail = f"payload says {body.site}/{body.gate} on the topic of {gate}"
        seq = message.seq if topic.kind == TopicKind.EVENTS else None  # never the payload's
        return Rejected(message, "gate_mismatch", detail, gate, impersonation=True, seq=seq)
    if isinstance(body, GateEvent):
        problem = _time_problem(body, now_ms=now_ms, oldest_ms=oldest_ms)
        if problem is not None:
            return Rejected(message, problem, f"event at {body.at} ms", gate, seq=body.seq)
    return Accepted(message, topic.kind, gate, body)


def refused_seq(site: str, gate: str, kind: TopicKind, message: Message) -> int | None:
    """The seq of an event that cannot be stored: the one its publish named, else the one its
    JSON still names for this site and gate; None for other kinds or when nothing says."""
    if kind != TopicKind.EVENTS:
        return None
    if message.seq is not None:
        return message.seq
    return messages.event_seq(message.payload, site=site, gate=gate)


def _time_problem(event: GateEvent, *, now_ms: int, oldest_ms: int) -> str | None:
    """Far in the future (an hour past the server's clock) or older than the event retention."""
    if event.at > now_ms + MAX_FUTURE_MS:
        return "time_in_future"
    return "time_too_old" if event.at < oldest_ms else None
