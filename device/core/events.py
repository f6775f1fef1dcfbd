"""Turn the core's event drafts into wire events once the store has given them ids and seqs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from device.core.model import EventDraft
from protocol.claims import PassKind
from protocol.messages import EventKind, GateEvent, LaneDirection, Mode, TemperatureReading

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


def to_wire(draft: EventDraft, stamp: Stamp, *, seq: int, event_id: str) -> GateEvent:
    """The GateEvent for a draft; readings that cannot be represented (NaN) are left out."""
    readings = [w for w in (r.wire() for r in draft.temperatures) if w is not None]
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
