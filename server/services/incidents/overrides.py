"""An override linked to the scan before it: the gate's button or the console's open once is
recorded as an ``override`` event without a pass; the pass it let through is the lane's last
scan within the lane's ``staff_attribution_s`` (protocol Policy, with the lane's overrides),
the window the gate itself uses to attribute a button press to a staff pass."""

from __future__ import annotations

import msgspec

from protocol.messages import Policy
from server.records import EventView
from server.services.context import Actor, Env
from server.store import gate_state
from server.store import incidents as store
from server.store.db import Connection

DEFAULT_WINDOW_S = Policy().staff_attribution_s


async def window_s(conn: Connection, gate: str) -> int:
    """The lane's attribution window in seconds (the site default if its overrides are bad)."""
    config = await gate_state.get_config(conn, gate=gate)
    value = (config.policy if config is not None else {}).get("staff_attribution_s")
    try:
        return msgspec.convert(
            {"staff_attribution_s": value} if value is not None else {}, Policy
        ).staff_attribution_s
    except msgspec.ValidationError:
        return DEFAULT_WINDOW_S


async def scan_before(conn: Connection, override: EventView) -> EventView | None:
    """The lane's last scan of a pass within the attribution window before ``override``."""
    window = await window_s(conn, override.gate)
    return await store.last_scan(
        conn,
        gate=override.gate,
        since_ms=override.at_ms - window * 1000,
        until_ms=override.at_ms,
    )


async def linked_scans(env: Env, actor: Actor, rows: list[EventView]) -> dict[str, EventView]:
    """For each override among ``rows`` (already in the actor's scope), the scan it followed."""
    linked: dict[str, EventView] = {}
    overrides = [r for r in rows if r.reason == store.OVERRIDE]
    if not overrides:
        return linked
    async with env.db.read() as conn:
        for row in overrides:
            scan = await scan_before(conn, row)
            if scan is not None:
                linked[row.event_id] = scan
    return linked


async def overrides_after(
    conn: Connection, actor: Actor, *, ref: str, scans: list[EventView]
) -> list[tuple[EventView, EventView]]:
    """Overrides at the lanes of ``scans`` that followed a scan of pass ``ref``: (override,
    scan) pairs, oldest first."""
    found: dict[str, tuple[EventView, EventView]] = {}
    for gate in sorted({s.gate for s in scans}):
        at = [s.at_ms for s in scans if s.gate == gate]
        window = await window_s(conn, gate)
        rows = await store.overrides_of(
            conn, scope=actor.scope, gate=gate, since_ms=min(at), until_ms=max(at) + window * 1000
        )
        for row in rows:
            scan = await scan_before(conn, row)
            if scan is not None and scan.pass_ref == ref:
                found[row.event_id] = (row, scan)
    return sorted(found.values(), key=lambda pair: pair[0].at_ms)
