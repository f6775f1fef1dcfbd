"""Carrying an import's plan out, inside the caller's one write transaction.

Households and people are added a chunk a statement (the event loop keeps its turns); a changed
field is written; a changed phone reissues every live pass of that person with the new phone's
tag (the old ones revoked, so the gate asks for the new digits); a person gone is marked moved
out (kept for retention) and their passes revoked; baselines record what this import wrote; an
erased person registered again loses their fingerprint. Observation changes bump the revocation
list's sequence, so the publisher sends the gates their holds at once.
"""

from __future__ import annotations

from collections.abc import Callable

from msgspec.structs import replace

from server.records import ImportBaseline, Resident, ResidentData
from server.services.context import Actor, Env
from server.services.passes.issuing import reissue_resident, revoke_in
from server.services.registry.field_decisions import (
    MOVED_OUT,
    OBSERVING,
    Options,
    Update,
    observation_bounds,
)
from server.services.registry.import_report import ImportReport
from server.services.registry.places import household_label
from server.services.registry.reconcile import NewPerson, Plan
from server.store import imports as store
from server.store import passes as pass_store
from server.store import people, registry
from server.store.db import Connection

Progress = Callable[[str, int, int], None]


async def apply(
    conn: Connection,
    env: Env,
    actor: Actor,
    *,
    the_plan: Plan,
    options: Options,
    report: ImportReport,
    progress: Progress | None,
) -> None:
    """Carry the plan out in the caller's write transaction (see the module docstring)."""
    now = env.clock.now()
    households = await _add_households(conn, the_plan, now)
    await _add_people(conn, the_plan.new, households, options, now)
    if progress:
        progress("write", len(the_plan.new), len(the_plan.new) + len(the_plan.matched))
    held = False
    for u in the_plan.updated:
        await people.save_resident(conn, u.resident.id, _changed(u, options, now))
        held = held or "observation" in u.changes or u.returned
        if "phone" in u.changes:
            report.passes_reissued += len(
                await reissue_resident(conn, env, actor, u.resident.id, "phone changed")
            )
    for r in the_plan.gone:
        await people.save_resident(conn, r.id, _moved_out(r, now))
        live = await pass_store.active_passes(conn, now=now, resident_id=r.id)
        report.passes_revoked += await revoke_in(conn, env, actor, live, "moved out (import)")
        held = held or r.status == OBSERVING
    await store.put_baselines(conn, the_plan.baselines)
    await store.forget_erased(
        conn, fingerprints=[n.fingerprint for n in the_plan.new if n.fingerprint]
    )
    if held or the_plan.observation_changes:
        await pass_store.bump_counter(conn, name=pass_store.REVOCATION_SEQ)
    if progress:
        total = len(the_plan.new) + len(the_plan.matched)
        progress("write", total, total)


async def _add_households(
    conn: Connection, the_plan: Plan, now: int
) -> dict[tuple[str, str, str], int]:
    """Create the new households; every household id by address."""
    await store.insert_households(
        conn,
        [
            {
                "zone_id": zone_id,
                "building": address[0],
                "unit": address[1],
                "room": address[2],
                "label": household_label(*address),
                "hold_until": None,
                "created_at": now,
                "updated_at": now,
            }
            for address, zone_id in the_plan.new_households.items()
        ],
    )
    return {a: h.id for a, h in (await registry.households_by_address(conn)).items()}


async def _add_people(
    conn: Connection,
    new: list[NewPerson],
    households: dict[tuple[str, str, str], int],
    options: Options,
    now: int,
) -> None:
    """Insert the new residents and their baselines."""
    values = []
    for n in new:
        observed = bool(n.observation and n.observation[0])
        start, end = observation_bounds(n.observation, options) if observed else (None, None)  # type: ignore[arg-type]
        data = ResidentData(
            household_id=households[n.person.address],
            name=n.person.name,
            phone=n.person.phone,
            role=n.person.role,
            status=OBSERVING if observed else "normal",
            observation_start=start,
            observation_end=end,
            consent_version=None,
            consent_at=None,
            note=n.person.note,
            created_at=now,
            updated_at=now,
        )
        values.append({f: getattr(data, f) for f in ResidentData.__struct_fields__})
    added = await store.insert_residents(conn, values)
    ids = [added[(v["household_id"], v["name"], v["phone"])] for v in values]
    await store.put_baselines(
        conn,
        [
            ImportBaseline(
                resident_id=i,
                phone=v["phone"],
                role=v["role"],
                note=v["note"],
                observed=v["status"] == OBSERVING,
                observation_start=v["observation_start"],
                imported_at=now,
            )
            for i, v in zip(ids, values, strict=True)
        ],
    )


def _data(row: Resident) -> ResidentData:
    return ResidentData(**{f: getattr(row, f) for f in ResidentData.__struct_fields__})


def _changed(u: Update, options: Options, now: int) -> ResidentData:
    """The resident's row with the file's changes applied (a returning person is active again)."""
    data = replace(_data(u.resident), updated_at=now)
    for name in ("phone", "role", "note"):
        if name in u.changes:
            data = replace(data, **{name: u.changes[name]})
    if u.returned and "observation" not in u.changes:
        data = replace(data, status="normal", observation_start=None, observation_end=None)
    if "observation" in u.changes:
        wanted = u.changes["observation"]
        start, end = observation_bounds(wanted, options)  # type: ignore[arg-type]
        status = OBSERVING if wanted[0] else "normal"  # type: ignore[index]
        data = replace(data, status=status, observation_start=start, observation_end=end)
    return data


def _moved_out(r: Resident, now: int) -> ResidentData:
    return replace(
        _data(r), status=MOVED_OUT, observation_start=None, observation_end=None, updated_at=now
    )
