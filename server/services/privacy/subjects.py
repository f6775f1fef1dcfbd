"""A data subject's rights: export and erasure of one resident (reliability-security.md 5.2).

Export returns every record linked to a resident in machine-readable form. Erasure revokes the
resident's passes (so gates deny them after the next list), detaches and wipes the pass texts,
deletes the resident row and writes a receipt with a pseudonymous subject. It also keeps a keyed
fingerprint of (address, name) (server.services.registry.erased), so a re-import of the office's
register does not re-create the person unless the operator confirms that row, and drops the
free-text notes written about them: on what staff did about alerts on their passes or on
``resident:<id>`` (follow-up escalations, whose reported temperature and symptoms go too), on
those alerts' acknowledgements, and on refused checks naming their passes (their follow-up
calls go with the resident row, ON DELETE CASCADE).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass

from server.records import DeletionReceipt, Event, FollowupCall, HeldPass, Resident
from server.services import audit
from server.services.context import Actor, Env
from server.services.errors import Forbidden, NotFound
from server.services.passes.issuing import revoke_in
from server.services.registry import erased
from server.store import followup as followup_store
from server.store import passes as pass_store
from server.store import people, privacy, registry
from server.store.db import Connection

logger = logging.getLogger(__name__)

EXPORT_EVENT_LIMIT = 10_000
_DAY = 86400


def _admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise Forbidden("admins only")


@dataclass(frozen=True, slots=True)
class Export:
    """Everything held about one resident, in machine-readable form."""

    resident: Resident
    passes: list[HeldPass]
    events: list[Event]
    followup_calls: list[FollowupCall]


async def export_resident(env: Env, actor: Actor, resident_id: int) -> Export:
    """Everything held about one resident (PIPL art. 45), audited."""
    _admin(actor)
    async with env.db.write() as conn:
        resident = await people.get_resident(conn, resident_id=resident_id, scope=actor.scope)
        if resident is None:
            raise NotFound(f"resident {resident_id}")
        held = await privacy.passes_of(conn, resident_id=resident_id)
        events = await privacy.events_of(conn, refs=[p.ref for p in held], limit=EXPORT_EVENT_LIMIT)
        calls = await followup_store.calls_of(conn, resident_id=resident_id)
        await audit.record(
            conn, actor, "resident.export", at=env.clock.now(), target=f"resident:{resident_id}"
        )
    return Export(resident=resident, passes=held, events=events, followup_calls=calls)


async def _forget_notes(conn: Connection, resident_id: int) -> int:
    """Drop the free text about the resident on alerts and refused checks, and the health
    details of their follow-up escalations (before their passes lose their holder, which is
    how they are found)."""
    refs = [p.ref for p in await privacy.passes_of(conn, resident_id=resident_id)]
    subject = f"resident:{resident_id}"
    about = await privacy.alerts_about(conn, refs=refs, subject=subject)
    await privacy.clear_alert_health(conn, subject=subject)  # what the follow-up call heard
    return await privacy.clear_notes_about(conn, alert_ids=about, refs=refs)


async def erase_resident(env: Env, actor: Actor, resident_id: int) -> DeletionReceipt:
    """Delete a resident's personal data and revoke their passes; returns the receipt."""
    _admin(actor)
    now = env.clock.now()
    async with env.db.write() as conn:
        resident = await people.get_resident(conn, resident_id=resident_id, scope=actor.scope)
        if resident is None:
            raise NotFound(f"resident {resident_id}")
        household = await registry.get_household(conn, household_id=resident.household_id)
        if household is not None:  # a re-import must not bring them back unasked
            address = (household.building, household.unit, household.room)
            await erased.remember(conn, env.keys_dir, address=address, name=resident.name, at=now)
        await _forget_notes(conn, resident_id)
        live = await pass_store.active_passes(conn, now=now, resident_id=resident_id)
        revoked = await revoke_in(conn, env, actor, live, "personal data erased")
        await pass_store.detach_holder(conn, column="resident_id", holder_id=resident_id)
        await people.delete_resident(conn, resident_id=resident_id)
        subject = hashlib.sha256(f"{resident_id}:{secrets.token_hex(16)}".encode()).hexdigest()[:16]
        receipt = await privacy.insert_receipt(
            conn, at=now, subject=subject, actor=actor.name, passes_revoked=revoked
        )
        await audit.record(
            conn, actor, "resident.erase", at=now, target=f"subject:{subject}", passes=revoked
        )
    await env.db.checkpoint()
    return receipt
