"""Test data for the staff UI: gates, people with awkward names, and gate events stored the way
the link's ingest stores them (the ``events`` row and, in the same transaction, the alerts it
raises by server.services.alerts.rules), then announced on the live hub."""

from __future__ import annotations

import uuid
from typing import Any

from server.records import EventData
from server.services.alerts import rules as alert_rules
from server.services.context import Env
from server.store import ingest as ingest_store
from tests.server.conftest import Api

# reliability-security.md 9.2 items 5-8: stored verbatim, shown as text, neutralised in CSV
INJECTIONS = (
    "O'Brien",
    "Robert'); DROP TABLE residents;--",
    "<script>alert(1)</script>",
    '"><svg onload=alert(1)>',
    "<img src=x onerror=alert(1)>",
    '=HYPERLINK("http://x")',
    "+SUM(1)",
    "@cmd",
    "50%_off",
    "report\u202egnp.exe",  # RTL override inside: the pass prints only the outer characters
)


def make_gates(api: Api) -> None:
    """An entry and an exit lane in zone 1 (east) and an entry lane in zone 2 (west)."""
    api.use("admin")
    for gate_id, zone, name, direction in (
        ("east-in", 1, "东门入口", "in"),
        ("east-out", 1, "东门出口", "out"),
        ("west-in", 2, "西门入口", "in"),
    ):
        response = api.post(
            "/api/v1/gates",
            json={"id": gate_id, "zone_id": zone, "name": name, "direction": direction},
        )
        assert response.status_code == 201, response.text


def issue_pass(api: Api, resident_id: int) -> dict[str, Any]:
    """Issue a resident's pass through the API (admin)."""
    api.use("admin")
    response = api.post("/api/v1/passes", json={"resident_id": resident_id})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


# Far above anything a real gate numbers in a test, so a stored row never takes the seq of an
# event the real lane (tests/ui/lane.py) sends later: ingest would flag that one a replay.
SEQ_BASE = 1_000_000
_seq: dict[str, int] = {}


async def add_event(
    env: Env,
    *,
    gate: str,
    at_ms: int,
    granted: bool | None,
    reason: str | None,
    pass_ref: str | None = None,
    body_c: float | None = None,
    kind: str = "decision",
    alarm: str | None = None,
) -> EventData:
    """Store one gate event with its alerts and wake the live pages, as ingest does."""
    _seq[gate] = _seq.get(gate, SEQ_BASE) + 1
    row = EventData(
        event_id=str(uuid.uuid4()),
        gate=gate,
        seq=_seq[gate],
        at_ms=at_ms,
        kind=kind,
        granted=granted,
        reason=reason,
        pass_ref=pass_ref,
        body_c=body_c,
        temperatures=None,
        received_at=at_ms // 1000,
        boot_id=None,
        clock_trusted=None,
        lane=None,
        offline=None,
        mode=None,
        alarm=alarm,
        holder_kind=None,
        operator=None,
        note=None,
        flag=None,
    )
    async with env.db.write() as conn:
        await ingest_store.insert_events(conn, rows=[row])
        raised = await alert_rules.on_event(conn, row, now=env.clock.now())
    env.hub.publish({"type": "event", "event": row})
    if raised:
        env.hub.notify("alerts")
    return row
