"""Refused checks (拒绝检测/劝返) recorded at a lane's console, counted per household and lane.

Who refused is the lane's last scan (its pass, and the pass's household) within
``LAST_SCAN_S``, or a household of the lane's zone picked from a list by its label. The daily
report counts them with ``count_refusals`` inside its own read transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.records import CheckRefusal, EventView, Gate
from server.services import audit
from server.services.context import Actor, Env
from server.services.errors import Invalid, NotFound
from server.services.text import clean_text
from server.store import incidents as store
from server.store import passes as pass_store
from server.store import registry
from server.store.db import Connection

LAST_SCAN_S = 5 * 60  # how old the lane's last scan may be to name who refused
MAX_LABELS = 5000  # the console's list of households
NOTE_MAX = 200
NOBODY = "refusal.nobody"  # codes of refusals, translated by the pages (code.*)
UNKNOWN_HOUSEHOLD = "refusal.household"
BAD_INPUT = "refusal.input"  # a household label or note the text rules refuse


async def count_refusals(
    conn: Connection, *, since: int, until: int, scope: frozenset[int] | None
) -> dict[tuple[int, str], int]:
    """Refused checks recorded in ``[since, until)`` (unix seconds), per (zone id, lane id),
    in the zones of ``scope`` (None: every zone). Lanes without any are left out."""
    return await store.count_by_lane(conn, since=since, until=until, scope=scope)


async def count_by_household(
    conn: Connection, *, since: int, until: int, scope: frozenset[int] | None
) -> dict[int | None, int]:
    """Refused checks in ``[since, until)`` per household id (None: nobody identified)."""
    return await store.count_by_household(conn, since=since, until=until, scope=scope)


async def _lane(conn: Connection, actor: Actor, gate_id: str) -> Gate:
    """The lane if it is in the actor's zones."""
    gate = await registry.get_gate(conn, gate_id=gate_id)
    if gate is None or (actor.scope is not None and gate.zone_id not in actor.scope):
        raise NotFound(f"gate {gate_id}")
    return gate


async def last_scan(env: Env, actor: Actor, gate_id: str) -> EventView | None:
    """The lane's last scan of a pass within ``LAST_SCAN_S`` (who 'the last scan' names)."""
    now_ms = env.clock.now() * 1000
    async with env.db.read() as conn:
        await _lane(conn, actor, gate_id)
        return await store.last_scan(
            conn, gate=gate_id, since_ms=now_ms - LAST_SCAN_S * 1000, until_ms=now_ms
        )


async def household_labels(env: Env, actor: Actor, gate_id: str) -> list[str]:
    """The labels of the households of the lane's zone, to pick who refused."""
    async with env.db.read() as conn:
        gate = await _lane(conn, actor, gate_id)
        return await store.household_labels(conn, zone_id=gate.zone_id, limit=MAX_LABELS)


@dataclass(frozen=True, slots=True)
class Who:
    """Who refused: a household, and the pass and scan when they came from the last scan."""

    household_id: int | None
    pass_ref: str | None
    event_id: str | None


async def _scan(conn: Connection, env: Env, gate: Gate, event_id: str) -> EventView | None:
    """The scan the console showed (``event_id``), or else the lane's last one, if recent."""
    now_ms = env.clock.now() * 1000
    since_ms = now_ms - LAST_SCAN_S * 1000
    if not event_id:
        return await store.last_scan(conn, gate=gate.id, since_ms=since_ms, until_ms=now_ms)
    shown = await store.event_view(conn, scope=frozenset({gate.zone_id}), event_id=event_id)
    if shown is None or shown.gate != gate.id or shown.pass_ref is None:
        return None
    return shown if since_ms <= shown.at_ms <= now_ms else None


async def _who(conn: Connection, env: Env, gate: Gate, label: str, event_id: str) -> Who:
    """The household picked by ``label``, or else the pass and household of the scan the
    console showed (``event_id``; empty: the lane's last scan)."""
    if label:
        found = await store.household_by_label(conn, zone_id=gate.zone_id, label=label)
        if found is None:
            raise Invalid("no such household in this lane's zone", code=UNKNOWN_HOUSEHOLD)
        return Who(found, None, None)
    scan = await _scan(conn, env, gate, event_id)
    if scan is None or scan.pass_ref is None:
        raise Invalid("no scan at this lane in the last minutes: pick the household", code=NOBODY)
    held = await pass_store.get_pass_by_ref(conn, ref=scan.pass_ref)
    return Who(held.household_id if held else None, scan.pass_ref, scan.event_id)


async def record(
    env: Env, actor: Actor, gate_id: str, *, label: str, note: str, event_id: str = ""
) -> CheckRefusal:
    """Record that someone refused the check at the lane: the household picked by ``label``,
    else the scan the console showed (``event_id``, else the lane's last scan) if it is at most
    ``LAST_SCAN_S`` old, with a note; audited."""
    label = clean_text(label, field="household", max_length=64, required=False)
    event_id = clean_text(event_id, field="scan", max_length=36, required=False)
    text = clean_text(note, field="note", max_length=NOTE_MAX, required=False) or None
    now = env.clock.now()
    async with env.db.write() as conn:
        gate = await _lane(conn, actor, gate_id)
        who = await _who(conn, env, gate, label, event_id)
        row = CheckRefusal(
            id=0,
            at=now,
            gate=gate.id,
            zone_id=gate.zone_id,
            household_id=who.household_id,
            pass_ref=who.pass_ref,
            event_id=who.event_id,
            actor=actor.name,
            note=text,
        )
        kept = await store.insert_refusal(conn, row)
        await audit.record(
            conn,
            actor,
            "refusal.record",
            at=now,
            target=f"gate:{gate.id}",
            refusal=kept.id,
            household=who.household_id,
        )
    return kept


async def of_household(
    env: Env, actor: Actor, household_id: int, *, limit: int = 20
) -> tuple[list[CheckRefusal], int]:
    """A household's newest refused checks and their count (the household page)."""
    async with env.db.read() as conn:
        if await registry.get_household(conn, household_id=household_id, scope=actor.scope) is None:
            raise NotFound(f"household {household_id}")
        return await store.refusals_of_household(conn, household_id=household_id, limit=limit)
