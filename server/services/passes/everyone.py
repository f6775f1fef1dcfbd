"""Passes for everyone, once, and revoking the passes of a unit or a building (issue 16 item 5).

``issue_everyone`` gives a pass to each resident of a place (the whole site, a zone, a building
or one unit of it) who has no live pass, all in one write transaction: the residents who already
hold one are counted, not given another, and a second run issues nothing. On SQLite the write
transaction is ``BEGIN IMMEDIATE``, so two runs at once are serialised and the second sees the
first's passes. A resident marked moved out (the register reconciliation's ``moved_out``) gets
none and is reported as skipped, as is one whose name or address a pass cannot print.

``revoke_place`` revokes every live pass (residents' and visitors') of a building or one unit of
it, with the reason the operator must give; each pass's revocation is audited and the place's as
a whole too, and the revocation list's seq moves once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from server.services import audit
from server.services.context import Actor, Env
from server.services.errors import Forbidden, Invalid
from server.services.passes import issuing
from server.services.text import TextError, clean_label, clean_text
from server.store import everyone as place_store
from server.store import registry
from server.store.db import Connection

logger = logging.getLogger(__name__)

MOVED_OUT = "moved_out"  # a resident's status once the register says they left
UNIT_NEEDS_BUILDING = "unit_needs_building"
UNKNOWN_ZONE = "unknown_zone"
REASON_REQUIRED = "revoke_reason_required"
PLACE_REQUIRED = "place_required"
REASON_MAX = 200
_DAY = 86400


@dataclass(frozen=True, slots=True)
class Place:
    """Where: every household in scope, narrowed by zone, building and unit (a unit is in a
    building: naming a unit without its building is refused)."""

    zone: int | None = None
    building: str | None = None
    unit: str | None = None

    def __post_init__(self) -> None:
        if self.unit is not None and self.building is None:
            raise Invalid("name the building of the unit", code=UNIT_NEEDS_BUILDING)

    def target(self) -> str:
        """How the audit log names the place."""
        parts = [
            f"zone:{self.zone}" if self.zone is not None else "",
            f"building:{self.building}" if self.building is not None else "",
            f"unit:{self.unit}" if self.unit is not None else "",
        ]
        return "/".join(p for p in parts if p) or "site"


def place_of(
    zone: int | None = None, building: str | None = None, unit: str | None = None
) -> Place:
    """A place from an operator's text (a CLI or a form): labels cleaned as the registry does."""
    try:
        b = clean_label(building, "building", required=False) if building is not None else None
        u = clean_label(unit, "unit", required=False) if unit is not None else None
    except TextError as exc:
        raise Invalid(str(exc), code=exc.code) from None
    return Place(zone=zone, building=b or None, unit=u or None)


async def zone_id(env: Env, actor: Actor, zone: str) -> int:
    """A zone named by its number or its name, in the actor's scope."""
    text = zone.strip()
    async with env.db.read() as conn:
        found = await registry.get_zone(conn, zone_id=int(text)) if text.isdigit() else None
        found = found or await registry.find_zone(conn, name=text)
    if found is None or (actor.scope is not None and found.id not in actor.scope):
        raise Invalid(f"zone {zone!r} does not exist", code=UNKNOWN_ZONE, zone=zone[:64])
    return int(found.id)


@dataclass(frozen=True, slots=True)
class Everyone:
    """What one run gave out: the refs it issued, how many already had a live pass, and whom
    it left out with the reason (``moved_out``, ``unprintable_holder``)."""

    issued: list[str] = field(default_factory=list)
    already_had: int = 0
    skipped: list[issuing.NotIssued] = field(default_factory=list)


async def issue_everyone(
    env: Env, actor: Actor, place: Place, *, days: int | None = None
) -> Everyone:
    """A pass for every resident of ``place`` who has none live; admins only; one transaction."""
    if not actor.is_admin:
        raise Forbidden("only admins issue residents' passes")
    days = min(days or env.settings.pass_validity_days, env.settings.pass_validity_days)
    async with env.db.write() as conn:
        result = await _issue_in(conn, env, actor, place, days=days)
        await audit.record(
            conn,
            actor,
            "pass.issue_everyone",
            at=env.clock.now(),
            target=place.target(),
            issued=len(result.issued),
            already_had=result.already_had,
            skipped=len(result.skipped),
        )
    return result


async def _issue_in(
    conn: Connection, env: Env, actor: Actor, place: Place, *, days: int
) -> Everyone:
    rows = await place_store.residents_in_place(
        conn, scope=actor.scope, zone=place.zone, building=place.building, unit=place.unit
    )
    using = await issuing.signing(conn, env)
    have = await place_store.residents_with_live_pass(conn, now=using.now)
    signed: list[issuing.Signed] = []
    skipped: list[issuing.NotIssued] = []
    already = 0
    for row in rows:
        if row.status == MOVED_OUT:
            skipped.append(issuing.NotIssued(row.id, row.household_id, MOVED_OUT))
            continue
        if row.id in have:
            already += 1
            continue
        holder = issuing.holder_of(row)
        expires = using.now + days * _DAY
        try:
            signed.append(
                await issuing.build(conn, env, actor, holder, expires=expires, using=using)
            )
        except issuing.Unprintable as exc:
            logger.warning("passes for everyone: resident %d left out (%s)", row.id, exc.code)
            skipped.append(issuing.NotIssued(row.id, row.household_id, issuing.UNPRINTABLE))
    await issuing.store_many(conn, actor, signed, now=using.now)
    return Everyone(issued=[s.row.ref for s in signed], already_had=already, skipped=skipped)


def clean_reason(reason: str | None) -> str:
    """The operator's reason, required: blank is refused."""
    try:
        text = clean_text(reason or "", field="reason", max_length=REASON_MAX, required=False)
    except TextError as exc:
        raise Invalid(str(exc), code=exc.code) from None
    if not text:
        raise Invalid("give the reason for revoking these passes", code=REASON_REQUIRED)
    return text


async def revoke_place(env: Env, actor: Actor, place: Place, reason: str | None) -> int:
    """Revoke every live pass of a building or a unit of it (admins); returns how many."""
    if not actor.is_admin:
        raise Forbidden("only admins revoke residents' passes")
    if place.building is None:
        raise Invalid("name the building (and the unit)", code=PLACE_REQUIRED)
    why = clean_reason(reason)
    now = env.clock.now()
    async with env.db.write() as conn:
        live = await place_store.live_passes_in_place(
            conn,
            now=now,
            scope=actor.scope,
            zone=place.zone,
            building=place.building,
            unit=place.unit,
        )
        count = await issuing.revoke_in(conn, env, actor, live, why)
        await audit.record(
            conn,
            actor,
            "pass.revoke_place",
            at=now,
            target=place.target(),
            reason=why,
            passes=count,
        )
    return count
