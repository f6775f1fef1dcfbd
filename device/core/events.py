"""Turn the core's event drafts into wire events once the store has given them ids and seqs,
and check each as the server will decode it before it may be committed (``settle``)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from device.core.model import EventDraft, Temperature
from protocol.claims import PassKind
from protocol.errors import MessageError
from protocol.messages import (
    EventKind,
    GateEvent,
    LaneDirection,
    Mode,
    TemperatureReading,
    encode,
    encode_checked,
)
from protocol.schema import convert
from protocol.topics import TopicKind

_KIND_NAMES: dict[PassKind, Literal["resident", "visitor", "staff"]] = {
    PassKind.RESIDENT: "resident",
    PassKind.VISITOR: "visitor",
    PassKind.STAFF: "staff",
}


@dataclass(frozen=True, slots=True)
class Stamp:
    """Who and when: the facts every event of one decision shares."""

    site: str
    gate: str
    boot_id: str
    at_ms: int
    clock_trusted: bool
    lane: LaneDirection
    offline: bool
    mode: Mode


@dataclass(frozen=True, slots=True)
class Settled:
    """An event whose payload decodes back to it as the server decodes it. ``dropped`` names
    the fields the check took out for that (the decision itself is never changed), and
    ``problem`` says why; both empty for an event that needed nothing."""

    event: GateEvent
    payload: bytes
    dropped: tuple[str, ...] = ()
    problem: MessageError | None = None


@dataclass(frozen=True, slots=True)
class Unsendable:
    """An event the server would refuse even without its readings and note: kept by the gate as
    a dead letter, never sent. ``payload`` is what it would have sent."""

    event: GateEvent
    payload: bytes
    problem: MessageError


def settle(draft: EventDraft, stamp: Stamp, *, seq: int, event_id: str) -> Settled | Unsendable:
    """The wire event for a draft, decoded back before it may be committed: readings the
    protocol refuses, then the note, are left out until it decodes; else it is unsendable."""
    event = to_wire(draft, stamp, seq=seq, event_id=event_id)
    try:
        return Settled(event, encode_checked(TopicKind.EVENTS, event))
    except MessageError as exc:
        problem = exc
    dropped: list[str] = []
    for field, fix in _FIXES:
        fixed = fix(draft)
        if fixed is None:
            continue
        draft = fixed
        dropped.append(field)
        corrected = to_wire(draft, stamp, seq=seq, event_id=event_id)
        try:
            return Settled(
                corrected, encode_checked(TopicKind.EVENTS, corrected), (*dropped,), problem
            )
        except MessageError:
            continue
    return Unsendable(event, encode(event), problem)


def _without_bad_readings(draft: EventDraft) -> EventDraft | None:
    kept = _representable(draft.temperatures)
    return None if len(kept) == len(draft.temperatures) else replace(draft, temperatures=kept)


def _without_note(draft: EventDraft) -> EventDraft | None:
    return None if draft.note is None else replace(draft, note=None)


# What a decision can lose and still be the same decision, in the order they are given up.
_FIXES = (("temperatures", _without_bad_readings), ("note", _without_note))


def _representable(readings: tuple[Temperature, ...]) -> tuple[Temperature, ...]:
    """The readings the protocol accepts (finite, within the sensor's and offset's ranges)."""
    kept = []
    for t in readings:
        values = {
            "object_c": t.object_c,
            "ambient_c": t.ambient_c,
            "offset_c": t.offset_c,
            "body_c": t.body_c,
        }
        try:
            convert(values, TemperatureReading)
        except MessageError:
            continue
        kept.append(t)
    return tuple(kept)


def to_wire(draft: EventDraft, stamp: Stamp, *, seq: int, event_id: str) -> GateEvent:
    """The GateEvent for a draft, as drafted (``settle`` checks it before any commit)."""
    readings = [r.wire() for r in draft.temperatures]
    return GateEvent(
        kind=EventKind.ALARM if draft.alarm is not None else EventKind.DECISION,
        event_id=event_id,
        site=stamp.site,
        gate=stamp.gate,
        seq=seq,
        boot_id=stamp.boot_id,
        at=stamp.at_ms,
        clock_trusted=stamp.clock_trusted,
        lane=stamp.lane,
        offline=stamp.offline,
        mode=stamp.mode,
        granted=draft.granted,
        reason=draft.reason,
        alarm=draft.alarm,
        pass_ref=draft.pass_ref,
        pass_kind=_KIND_NAMES[draft.pass_kind] if draft.pass_kind is not None else None,
        temperatures=_cap(readings),
        operator=draft.operator,
        note=draft.note[:200] if draft.note else None,
    )


def _cap(readings: list[TemperatureReading]) -> list[TemperatureReading]:
    """The wire holds at most five readings: keep the latest."""
    return readings[-5:]
