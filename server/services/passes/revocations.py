"""The current revocation state as the protocol's ``RevocationFull``, built from the registry.

Issue 6 publishes it (signed, retained) over MQTT; this module only assembles and signs it.
Entries: revoked passes that have not expired yet (expired ones are pruned, a gate rejects them
anyway), household cutoffs, pass holds for residents under home observation (until the end of
their observation, or until their pass expires when no end is set), household holds, and the
passes locked after wrong phone digits with the unlocks of the last 30 days
(server.services.passes.locks).
"""

from __future__ import annotations

from protocol.manifest import KeyUse
from protocol.revocation import (
    HouseholdTime,
    RefTime,
    RevocationFull,
    pack_refs,
    sign_revocations,
)
from server.services.context import Env
from server.services.errors import Conflict
from server.services.passes.keys import signing_key
from server.services.passes.locks import list_entries as lock_entries
from server.store import passes as pass_store
from server.store import people, registry
from server.store.db import Connection

OPEN_ENDED_HOLD_S = 14 * 86400  # a hold without an end date is published for two weeks at a time


async def build_full(conn: Connection, *, now: int, next_update_s: int) -> RevocationFull:
    """The whole current list at ``now`` (unsigned), from one read transaction."""
    site = await registry.get_site(conn)
    if site is None:
        raise Conflict("the site is not initialised")
    refs = {bytes.fromhex(r) for r in await pass_store.revoked_refs(conn, now=now)}
    cutoffs = [
        HouseholdTime(household=c.household_id, at=c.at) for c in await pass_store.cutoffs(conn)
    ]
    observed = await people.under_observation(conn, now=now)
    ends = {r.id: r.observation_end or now + OPEN_ENDED_HOLD_S for r in observed}
    held = await pass_store.refs_of_residents(conn, resident_ids=sorted(ends), now=now)
    pass_holds = sorted(
        (RefTime(ref=bytes.fromhex(h.ref), at=ends[h.resident_id]) for h in held),
        key=lambda h: h.ref,
    )
    household_holds = [
        HouseholdTime(household=h.id, at=h.hold_until)
        for h in await pass_store.household_holds(conn, now=now)
    ]
    locks, unlocks = await lock_entries(conn, now=now)
    return RevocationFull(
        schema=1,
        site=site.id,
        seq=await pass_store.read_counter(conn, name=pass_store.REVOCATION_SEQ),
        issued_at=now,
        next_update=now + next_update_s,
        refs=pack_refs(refs),
        cutoffs=sorted(cutoffs, key=lambda c: c.household),
        pass_holds=pass_holds,
        household_holds=sorted(household_holds, key=lambda h: h.household),
        locks=_ref_times(locks),
        unlocks=_ref_times(unlocks),
    )


def _ref_times(entries: dict[str, int]) -> list[RefTime]:
    """Ref-keyed entries in the canonical order the gates require (ascending ref)."""
    return [RefTime(ref=bytes.fromhex(r), at=t) for r, t in sorted(entries.items())]


async def signed_full(env: Env) -> tuple[RevocationFull, bytes]:
    """The current list and its COSE_Sign1 bytes, signed with the current revlist key."""
    now = env.clock.now()
    async with env.db.read() as conn:
        full = await build_full(conn, now=now, next_update_s=env.settings.revocation_next_update_s)
        _row, key = await signing_key(conn, env.keys_dir, use=KeyUse.REVLIST, now=now)
    return full, sign_revocations(full, key)
