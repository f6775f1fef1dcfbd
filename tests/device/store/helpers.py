"""Events for store tests."""

from __future__ import annotations

import uuid

from device.core.events import Stamp, to_wire
from device.core.model import EventDraft
from protocol.messages import GateEvent, LaneDirection, Mode
from protocol.reasons import ReasonCode

BOOT = "ab" * 16
STAMP = Stamp(
    "gw01", "east-in", BOOT, 1_790_000_000_000, True, LaneDirection.IN, False, Mode.NORMAL
)


def events(first_seq: int, count: int = 1) -> list[GateEvent]:
    """``count`` grant events numbered from ``first_seq``."""
    draft = EventDraft(granted=True, reason=ReasonCode.OK, pass_ref="00" * 8)
    return [
        to_wire(draft, STAMP, seq=first_seq + i, event_id=str(uuid.uuid4())) for i in range(count)
    ]
