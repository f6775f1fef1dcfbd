"""Pass locks: wrong phone digits at one lane lock the pass at every lane, through the server.

A gate locks a pass after too many wrong phone digits and says so in its decision event (reason
``pass_locked``). Gates take no locks from one another: the ingest records the lock here, bumps
the revocation seq in the same transaction, and the signed list carries it to every lane
(protocol.revocation ``locks``). Staff of the pass's zone, or an admin, clear it with ``unlock``
after an ID check, with the reason they must give (audited); the list then carries an unlock
for ``UNLOCK_KEPT_S``, which voids each lane's own lock of that pass up to the unlock's time; a
lane that applies it counts wrong digit entries for that pass anew.

A lock is taken only from a lane of one of the pass's zones (a lane of another zone never asks
for the pass's digits), never from a replayed seq, and not from a report older than the last
unlock of that pass (a lane that refused the pass before it heard of the unlock). A lane's
reports lock at most ``LOCKS_PER_LANE_HOUR`` passes an hour: beyond that (a stolen gate's
password locking a zone's residents out one by one) the reports lock nothing more and raise
``lock_flood`` for that lane.
"""

from __future__ import annotations

import logging

from msgspec.structs import replace

from protocol.messages import EventKind
from protocol.reasons import ReasonCode
from server.records import EventData, Gate, Pass, PassLock
from server.services import audit
from server.services.alerts.kinds import AlertKind
from server.services.alerts.raising import occurred
from server.services.context import Actor, Env
from server.services.errors import Conflict, Invalid, NotFound
from server.store import passes as pass_store
from server.store.db import Connection

logger = logging.getLogger(__name__)

UNLOCK_KEPT_S = 30 * 86400  # how long a list carries an unlock (an offline lane's catch-up)
NOT_LOCKED = "not_locked"  # the error code of NotLocked
REASON_REQUIRED = "unlock_reason_required"  # the error code of an unlock without a reason
MAX_NOTE = 500
LOCKS_PER_LANE_HOUR = 10  # three wrong tries each: 30 people mistyping in an hour at one lane


class NotLocked(Conflict):
    """The pass holds no lock to clear."""


def unlock_at(lock: PassLock) -> int:
    """The time up to which a cleared lock voids the lanes' locks: the later of the lock (the
    gate's clock) and its clearing (the server's), so a gate's clock ahead cannot keep it."""
    assert lock.cleared_at is not None
    return max(lock.locked_at, lock.cleared_at)


def _reports_lock(row: EventData) -> bool:
    """A stored (not replayed) decision that refused a pass as locked."""
    return (
        row.kind == EventKind.DECISION.value
        and row.reason == ReasonCode.PASS_LOCKED.value
        and row.pass_ref is not None
        and row.flag is None
    )


async def on_event(
    conn: Connection, actor: Actor, lane: Gate, row: EventData, *, now: int
) -> PassLock | None:
    """Record the lock a lane reports in a stored event, if it is a new one; bumps the seq."""
    if not _reports_lock(row):
        return None
    assert row.pass_ref is not None
    held = await pass_store.get_pass_by_ref(conn, ref=row.pass_ref)
    if held is None or lane.zone_id not in held.zones:
        logger.warning("gate %s reported a lock of pass %s outside its zone", lane.id, row.pass_ref)
        return None
    if await pass_store.active_lock(conn, ref=row.pass_ref) is not None:
        return None
    locked_at = row.at_ms // 1000
    last = await pass_store.last_unlock(conn, ref=row.pass_ref)
    if last is not None and locked_at <= unlock_at(last):
        return None  # refused before the lane heard of the unlock
    if await pass_store.locks_recorded_by(conn, gate=lane.id, since=now - 3600) >= (
        LOCKS_PER_LANE_HOUR
    ):
        logger.warning("gate %s reported too many locks; %s not locked", lane.id, row.pass_ref)
        await occurred(conn, AlertKind.LOCK_FLOOD, gate=lane.id, now=now, ref=row.pass_ref)
        return None
    lock = await pass_store.insert_lock(
        conn,
        PassLock(
            id=0,
            ref=row.pass_ref,
            gate=lane.id,
            event_id=row.event_id,
            locked_at=locked_at,
            recorded_at=now,
            cleared_at=None,
            cleared_by=None,
            clear_note=None,
        ),
    )
    await pass_store.bump_counter(conn, name=pass_store.REVOCATION_SEQ)
    await audit.record(
        conn, actor, "pass.lock", at=now, target=f"pass:{row.pass_ref}", gate=lane.id, lock=lock.id
    )
    return lock


async def unlock(env: Env, actor: Actor, ref: str, reason: str | None) -> PassLock:
    """Clear a pass's lock (staff of its zone, or an admin) after an ID check; every lane hears
    it signed. ``reason`` (what was checked) is required: empty or blank is refused."""
    note = (reason or "").strip()
    if not note:
        raise Invalid("say why the pass is unlocked (the ID check)", code=REASON_REQUIRED)
    if len(note) > MAX_NOTE:
        raise Invalid(f"a note is at most {MAX_NOTE} characters")
    now = env.clock.now()
    async with env.db.write() as conn:
        if await pass_store.get_pass_by_ref(conn, ref=ref, scope=actor.scope) is None:
            raise NotFound(f"pass {ref}")
        lock = await pass_store.active_lock(conn, ref=ref)
        if lock is None:
            raise NotLocked(f"pass {ref} is not locked", code=NOT_LOCKED, ref=ref)
        await pass_store.clear_lock(conn, lock_id=lock.id, at=now, by=actor.name, note=note)
        await pass_store.bump_counter(conn, name=pass_store.REVOCATION_SEQ)
        await audit.record(
            conn, actor, "pass.unlock", at=now, target=f"pass:{ref}", lock=lock.id, reason=note
        )
    return replace(lock, cleared_at=now, cleared_by=actor.name, clear_note=note)


async def active(env: Env, actor: Actor) -> list[PassLock]:
    """The locks holding unexpired passes in the actor's scope, oldest first."""
    async with env.db.read() as conn:
        return await pass_store.active_locks(conn, now=env.clock.now(), scope=actor.scope)


async def locked_refs(env: Env, actor: Actor, refs: list[str]) -> frozenset[str]:
    """Which of ``refs`` are locked now (for the pass tables' state and unlock button)."""
    if not refs:
        return frozenset()
    return frozenset(lock.ref for lock in await active(env, actor)) & frozenset(refs)


async def holder_of(env: Env, actor: Actor, ref: str) -> Pass:
    """The pass with this ref in the actor's scope (a page goes back to its holder)."""
    async with env.db.read() as conn:
        held = await pass_store.get_pass_by_ref(conn, ref=ref, scope=actor.scope)
    if held is None:
        raise NotFound(f"pass {ref}")
    return held


async def list_entries(conn: Connection, *, now: int) -> tuple[dict[str, int], dict[str, int]]:
    """What the revocation list carries: active locks (ref to lock time, the earliest if a
    race left two) and unlocks of the last ``UNLOCK_KEPT_S`` (ref to the latest unlock time)."""
    locks: dict[str, int] = {}
    for lock in await pass_store.active_locks(conn, now=now):
        locks.setdefault(lock.ref, lock.locked_at)
    unlocks: dict[str, int] = {}
    for lock in await pass_store.cleared_locks(conn, since=now - UNLOCK_KEPT_S, now=now):
        unlocks[lock.ref] = max(unlock_at(lock), unlocks.get(lock.ref, 0))
    return locks, unlocks
