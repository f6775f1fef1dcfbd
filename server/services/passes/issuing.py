"""Issuing, renewing and revoking signed passes, exactly as protocol.claims defines them.

A pass's claims come from the registry at the moment of issue: the household's zone and label,
the holder's short display name, and the keyed tag of the registered phone's last four digits
(protocol.phonetag) with the phone-key version; the phone number itself never leaves the server.
Every issue and revoke is audited in the same transaction. Revocations, cutoffs and holds bump
the revocation sequence number that the published lists carry (server.services.passes.revocations).

What the pass prints (the unit label and the masked name) is checked against the claims' text
rule before signing: a holder whose registry text breaks it (a row from before the rule) is
refused with ``Unprintable`` (422), and a bulk issue skips that one person, reports them and
issues everyone else.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass, field
from typing import Any

from protocol.claims import HolderProof, PassClaims, PassKind, printable
from protocol.cose import PrivateKey
from protocol.errors import MessageError
from protocol.manifest import KeyUse
from protocol.passes import issue
from protocol.phonetag import phone_tag
from server.records import CardPin, Key, Pass, Resident
from server.services import audit
from server.services.context import Actor, Env
from server.services.errors import Conflict, Forbidden, Invalid, NotFound
from server.services.passes import phone_keys
from server.services.passes.keys import signing_key
from server.services.text import display_name, last4
from server.store import accounts, people, registry
from server.store import card_pins as pin_store
from server.store import everyone as place_store
from server.store import passes as pass_store
from server.store.db import Connection

logger = logging.getLogger(__name__)

_DAY = 86400
MAX_ZONES = 16


UNPRINTABLE = "unprintable_holder"  # the error code of Unprintable


class Unprintable(Invalid):
    """The holder's name or unit label, as the registry has it, cannot be printed on a pass."""


@dataclass(frozen=True, slots=True)
class NotIssued:
    """A resident a bulk issue left out, and the error code that says why."""

    resident_id: int
    household_id: int
    reason: str


@dataclass(frozen=True, slots=True)
class BulkIssue:
    """What a bulk issue did: the passes it made and the people it could not issue."""

    issued: list[Pass]
    skipped: list[NotIssued] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Holder:
    """Who a pass is for and what the registry says about them at issue time."""

    kind: PassKind
    column: str  # resident_id, visitor_id or staff_id
    holder_id: int
    zones: tuple[int, ...]
    name: str
    phone: str | None
    household: int | None = None
    unit: str | None = None
    host: int | None = None
    uses: int | None = None


async def _site_id(conn: Connection) -> str:
    site = await registry.get_site(conn)
    if site is None:
        raise Conflict("the site is not initialised")
    return str(site.id)


def _printed(holder: Holder) -> tuple[str | None, str]:
    """The unit label and display name the pass will print; Unprintable if the rule refuses one."""
    name = display_name(holder.name)
    if not (printable(name) and (holder.unit is None or printable(holder.unit))):
        raise Unprintable(
            f"{holder.column}:{holder.holder_id}: the name or unit label holds a character a "
            "pass cannot print (a bidi control or a line separator): correct it, then issue",
            code=UNPRINTABLE,
        )
    return holder.unit, name


@dataclass(slots=True)
class Signing:
    """What the passes of one transaction are signed with, read once (a bulk issue of thousands
    would otherwise read the site, the signing key and the tag keys for every pass)."""

    now: int
    site: str
    key_row: Key
    key: PrivateKey
    tag_keys: dict[tuple[int, ...], tuple[int, bytes]] = field(default_factory=dict)

    async def tag_key(
        self, conn: Connection, env: Env, zones: tuple[int, ...]
    ) -> tuple[int, bytes]:
        """The phone-tag key version and key for a pass valid in ``zones``."""
        if zones not in self.tag_keys:
            self.tag_keys[zones] = await phone_keys.tag_key(conn, env.keys_dir, zones)
        return self.tag_keys[zones]


async def signing(conn: Connection, env: Env) -> Signing:
    """The site, the pass-signing key and an empty tag-key cache, at the env's now."""
    now = env.clock.now()
    key_row, key = await signing_key(conn, env.keys_dir, use=KeyUse.PASS, now=now)
    return Signing(now=now, site=await _site_id(conn), key_row=key_row, key=key)


PIN_DOMAIN = b"PG-PIN-STORE1"  # the server's keyed hash of a card PIN (never the gate's tag)


def draw_pin() -> str:
    """A random 4-digit card PIN (``secrets``: every value equally likely, 0000 included)."""
    return f"{secrets.randbelow(10_000):04d}"


def pin_hash(key: bytes, pass_id: bytes, pin: str) -> bytes:
    """What the server keeps of a card PIN: HMAC-SHA256 under the phone-tag key, bound to the
    pass (a stolen database alone does not give the PINs away)."""
    return hmac.new(key, PIN_DOMAIN + pass_id + pin.encode("ascii"), hashlib.sha256).digest()


def needs_pin(holder: Holder) -> bool:
    """A resident without a registered phone proves they hold the card with its PIN."""
    return holder.kind == PassKind.RESIDENT and holder.phone is None


@dataclass(frozen=True, slots=True)
class Signed:
    """A signed pass not yet stored: its row (id 0), its card PIN row if any, its holder."""

    row: Pass
    pin: CardPin | None
    holder_ref: str


async def build(
    conn: Connection, env: Env, actor: Actor, holder: Holder, *, expires: int, using: Signing
) -> Signed:
    """Build the claims for ``holder`` and sign them; nothing is written. A resident without a
    phone gets a card PIN: the pass carries its tag and says so (holder proof 1)."""
    unit, name = _printed(holder)
    now, key_row, key = using.now, using.key_row, using.key
    expires = min(expires, key_row.verify_until)
    pass_id = secrets.token_bytes(12)
    tag, version, pin = None, None, None
    proof = HolderProof.PHONE
    if holder.phone is not None or needs_pin(holder):
        version, phone_key = await using.tag_key(conn, env, holder.zones[:MAX_ZONES])
        if holder.phone is not None:
            tag = phone_tag(phone_key, pass_id, last4(holder.phone))
        else:
            secret = draw_pin()
            tag, proof = phone_tag(phone_key, pass_id, secret), HolderProof.CARD_PIN
            pin = CardPin(
                ref=pass_id[:8].hex(),
                resident_id=holder.holder_id,
                key_version=version,
                pin_hash=pin_hash(phone_key, pass_id, secret),
                pending=secret,
                created_at=now,
                printed_at=None,
            )
    claims = PassClaims(
        site=using.site,
        pass_id=pass_id,
        kind=holder.kind,
        issued_at=now,
        not_before=now,
        expires=expires,
        zones=holder.zones[:MAX_ZONES],
        household=holder.household,
        unit=unit,
        name=name,
        phone_tag=tag,
        phone_key_version=version,
        host=holder.host,
        uses=holder.uses,
        proof=proof,
    )
    try:
        text = issue(claims, key)
    except MessageError as exc:  # a claims rule the check above did not foresee
        raise Unprintable(f"the pass's claims are refused: {exc}", code=UNPRINTABLE) from None
    held_by: dict[str, int | None] = {"resident_id": None, "visitor_id": None, "staff_id": None}
    held_by[holder.column] = holder.holder_id
    row = Pass(
        id=0,
        ref=claims.ref,
        kind=holder.kind.name.lower(),
        resident_id=held_by["resident_id"],
        visitor_id=held_by["visitor_id"],
        staff_id=held_by["staff_id"],
        household_id=holder.household or holder.host,
        zones=list(claims.zones),
        kid=key_row.kid,
        issued_by=actor.name,
        issued_at=now,
        not_before=now,
        expires=expires,
        revoked_at=None,
        revoked_by=None,
        revoke_reason=None,
        renewed_from=None,
        pass_id=pass_id,
        text=text,
    )
    return Signed(row=row, pin=pin, holder_ref=f"{holder.column}:{holder.holder_id}")


def _issue_audit(actor: Actor, signed: Signed) -> dict[str, Any]:
    detail: dict[str, Any] = {"kind": signed.row.kind, "holder": signed.holder_ref}
    if signed.pin is not None:
        detail["proof"] = "card_pin"
    return detail


async def sign_for(
    conn: Connection,
    env: Env,
    actor: Actor,
    holder: Holder,
    *,
    expires: int,
    using: Signing | None = None,
) -> Pass:
    """Build the claims for ``holder``, sign them, store and audit the pass; returns its row.
    Nothing is written when the holder's text cannot be printed (Unprintable). ``using`` is
    what a bulk issue read once for all its passes."""
    using = using or await signing(conn, env)
    signed = await build(conn, env, actor, holder, expires=expires, using=using)
    row = await pass_store.insert_pass(conn, signed.row)
    await pin_store.insert_pins(conn, [signed.pin] if signed.pin else [])
    target = f"pass:{row.ref}"
    await audit.record(
        conn, actor, "pass.issue", at=using.now, target=target, **_issue_audit(actor, signed)
    )
    return row


async def store_many(conn: Connection, actor: Actor, signed: list[Signed], *, now: int) -> None:
    """Store and audit many signed passes in a few statements (a bulk issue of thousands)."""
    await place_store.insert_passes(conn, [s.row for s in signed])
    await pin_store.insert_pins(conn, [s.pin for s in signed if s.pin is not None])
    await place_store.append_audits(
        conn,
        [
            place_store.AuditRow(
                at=now,
                actor=actor.name,
                action="pass.issue",
                target=f"pass:{s.row.ref}",
                address=actor.address,
                detail=_issue_audit(actor, s),
            )
            for s in signed
        ],
    )


async def resident_holder(conn: Connection, actor: Actor, resident_id: int) -> Holder:
    """The pass subject for a resident in the actor's scope."""
    row = await people.get_resident(conn, resident_id=resident_id, scope=actor.scope)
    if row is None:
        raise NotFound(f"resident {resident_id}")
    return holder_of(row)


def holder_of(row: Resident) -> Holder:
    """The pass subject for a resident row (with its household's zone and label)."""
    return Holder(
        kind=PassKind.RESIDENT,
        column="resident_id",
        holder_id=row.id,
        zones=(row.zone_id,),
        name=row.name,
        phone=row.phone,
        household=row.household_id,
        unit=row.label,
    )


async def staff_holder(conn: Connection, staff_id: int) -> Holder:
    """The pass subject for a staff member: their zones (every zone when unscoped)."""
    row = await accounts.get_staff(conn, staff_id=staff_id)
    if row is None or not row.active:
        raise NotFound(f"staff {staff_id}")
    scope = row.zone_scope
    zones = scope if scope else [z.id for z in await registry.list_zones(conn, scope=None)]
    return Holder(
        kind=PassKind.STAFF,
        column="staff_id",
        holder_id=row.id,
        zones=tuple(sorted(zones)),
        name=row.display_name,
        phone=None,
    )


async def issue_resident(
    env: Env, actor: Actor, resident_id: int, *, days: int | None = None
) -> Pass:
    """Issue a resident's pass, valid ``days`` (default: the site's card validity)."""
    days = min(days or env.settings.pass_validity_days, env.settings.pass_validity_days)
    async with env.db.write() as conn:
        holder = await resident_holder(conn, actor, resident_id)
        return await sign_for(conn, env, actor, holder, expires=env.clock.now() + days * _DAY)


async def issue_staff(env: Env, actor: Actor, staff_id: int) -> Pass:
    """Issue a staff member's pass (admins only; staff passes open every lane of their zones)."""
    if not actor.is_admin:
        raise Forbidden("only admins issue staff passes")
    days = env.settings.staff_pass_validity_days
    async with env.db.write() as conn:
        holder = await staff_holder(conn, staff_id)
        return await sign_for(conn, env, actor, holder, expires=env.clock.now() + days * _DAY)


async def issue_households(
    env: Env, actor: Actor, household_ids: list[int], *, days: int | None = None
) -> BulkIssue:
    """Issue one pass per resident of the given households, in one transaction; a resident whose
    pass cannot be printed is skipped and reported, and the others are issued."""
    days = min(days or env.settings.pass_validity_days, env.settings.pass_validity_days)
    async with env.db.write() as conn:
        for household_id in household_ids:
            if (
                await registry.get_household(conn, household_id=household_id, scope=actor.scope)
                is None
            ):
                raise NotFound(f"household {household_id}")
        result = BulkIssue(issued=[])
        for row in await people.residents_of(conn, household_ids=household_ids):
            holder = await resident_holder(conn, actor, row.id)
            expires = env.clock.now() + days * _DAY
            try:
                result.issued.append(await sign_for(conn, env, actor, holder, expires=expires))
            except Unprintable as exc:
                logger.warning("bulk issue: resident %d left out (%s)", row.id, exc.code)
                result.skipped.append(NotIssued(row.id, row.household_id, UNPRINTABLE))
        return result


async def revoke_in(conn: Connection, env: Env, actor: Actor, rows: list[Pass], reason: str) -> int:
    """Revoke the given pass rows inside an open transaction; bump the list seq; audit each."""
    now = env.clock.now()
    changed = await pass_store.revoke(
        conn, pass_rows=[r.id for r in rows], at=now, by=actor.name, reason=reason
    )
    if changed:
        await pass_store.bump_counter(conn, name=pass_store.REVOCATION_SEQ)
        await pin_store.forget_pending(conn, refs=[r.ref for r in rows])  # never to be printed
    for row in rows:
        if row.revoked_at is None:
            await audit.record(
                conn, actor, "pass.revoke", at=now, target=f"pass:{row.ref}", reason=reason
            )
    return changed


async def revoke(env: Env, actor: Actor, pass_rows: list[int], reason: str) -> int:
    """Revoke passes by row id (all or nothing); returns how many were newly revoked."""
    async with env.db.write() as conn:
        rows = []
        for pass_row in pass_rows:
            row = await pass_store.get_pass(conn, pass_row=pass_row, scope=actor.scope)
            if row is None:
                raise NotFound(f"pass {pass_row}")
            if not actor.is_admin and row.kind != "visitor":
                raise Forbidden("staff revoke visitor passes only")
            rows.append(row)
        return await revoke_in(conn, env, actor, rows, reason)


async def renew(env: Env, actor: Actor, pass_row: int) -> Pass:
    """A fresh pass for the same holder; the old one is revoked as superseded."""
    async with env.db.write() as conn:
        old = await pass_store.get_pass(conn, pass_row=pass_row, scope=actor.scope)
        if old is None:
            raise NotFound(f"pass {pass_row}")
        if old.resident_id is not None:
            holder = await resident_holder(conn, actor, old.resident_id)
            days = env.settings.pass_validity_days
        elif old.staff_id is not None and actor.is_admin:
            holder = await staff_holder(conn, old.staff_id)
            days = env.settings.staff_pass_validity_days
        else:
            raise Conflict("only resident and staff passes are renewed; register visitors anew")
        new = await sign_for(conn, env, actor, holder, expires=env.clock.now() + days * _DAY)
        await revoke_in(conn, env, actor, [old], f"renewed as {new.ref}")
        return new


async def reissue_resident(
    conn: Connection, env: Env, actor: Actor, resident_id: int, reason: str
) -> list[Pass]:
    """Inside an open transaction: a fresh pass for each live pass of a resident, from what the
    registry says now (a changed phone's tag, or a card PIN when the phone was removed), each
    valid as long as the one it replaces; the old ones are revoked (``reason``, then the new
    ref). The gate then asks for the new digits: the old card no longer opens."""
    using = await signing(conn, env)
    live = await pass_store.active_passes(conn, now=using.now, resident_id=resident_id)
    if not live:
        return []
    holder = await resident_holder(conn, actor, resident_id)
    made = []
    for old in live:
        new = await sign_for(conn, env, actor, holder, expires=old.expires, using=using)
        await revoke_in(conn, env, actor, [old], f"{reason}: reissued as {new.ref}")
        made.append(new)
    return made


async def cutoff_household(env: Env, actor: Actor, household_id: int, reason: str) -> int:
    """Kill every pass of a household issued before now (move-out, phone change)."""
    now = env.clock.now()
    async with env.db.write() as conn:
        if await registry.get_household(conn, household_id=household_id, scope=actor.scope) is None:
            raise NotFound(f"household {household_id}")
        await pass_store.set_cutoff(conn, household_id=household_id, at=now, reason=reason)
        live = await pass_store.active_passes(conn, now=now, household_id=household_id)
        revoked = await revoke_in(conn, env, actor, live, f"household cutoff: {reason}")
        await pass_store.bump_counter(conn, name=pass_store.REVOCATION_SEQ)
        await audit.record(
            conn,
            actor,
            "household.cutoff",
            at=now,
            target=f"household:{household_id}",
            passes=revoked,
        )
        return revoked
