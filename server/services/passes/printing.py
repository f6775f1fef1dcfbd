"""Printable passes: QR images of one pass, PDF card sheets of one or many, and the delivery
PDF of a site, zone, building or unit (CPU-bound work runs in a worker thread so the event loop
keeps serving gates and staff; the QR symbols in worker processes)."""

from __future__ import annotations

import asyncio
import itertools
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from server.records import PrintablePass, UnitPlace
from server.services import audit
from server.services.context import Actor, Env
from server.services.errors import Conflict, Invalid, NotFound
from server.services.passes import pins
from server.services.passes.cards import Card, CardWords, cards_pdf, qr_png, qr_svg
from server.services.passes.delivery import (
    ChecklistWords,
    Printed,
    RoomLine,
    UnitBatch,
    write_delivery_pdf,
)
from server.services.passes.ordering import address_key, natural_key
from server.services.text import mask_name
from server.store import passes as pass_store
from server.store import registry as registry_store
from server.store.db import Connection

#: one PDF holds at most this many cards (5,100 take about 300 MB at the peak: make bench)
MAX_BULK_CARDS = 10_000


def _card(row: PrintablePass, pin: str | None = None) -> Card:
    return Card(
        text=row.text or "",  # printable() selects only passes that still have a text
        kind=row.kind,
        unit=row.label or "",
        name=row.holder_name or "",
        valid_from=row.not_before,
        valid_until=row.expires,
        pin=pin,
    )


async def _one(env: Env, actor: Actor, pass_row: int) -> PrintablePass:
    async with env.db.read() as conn:
        rows = await pass_store.printable(
            conn, scope=actor.scope, now=env.clock.now(), pass_rows=[pass_row]
        )
        if rows:
            return rows[0]
        exists = await pass_store.get_pass(conn, pass_row=pass_row, scope=actor.scope)
    if exists is None:
        raise NotFound(f"pass {pass_row}")
    raise Conflict(f"pass {pass_row} is revoked, expired or erased: nothing to print")


async def qr_image(env: Env, actor: Actor, pass_row: int, kind: str) -> bytes:
    """The pass's QR code as ``svg`` or ``png``."""
    row = await _one(env, actor, pass_row)
    render = qr_svg if kind == "svg" else qr_png
    return await asyncio.to_thread(render, row.text or "")


async def card(env: Env, actor: Actor, pass_row: int) -> bytes:
    """A one-card PDF for a pass (a PIN card takes its PIN, or is reissued: server.services.
    passes.pins)."""
    row = await _one(env, actor, pass_row)
    async with env.db.write() as conn:
        rows, taken = await pins.for_print(conn, env, actor, [row])
    return await asyncio.to_thread(
        cards_pdf,
        [_card(r, taken.get(r.ref)) for r in rows],
        utc_offset_min=env.settings.card_utc_offset_min,
    )


async def sheet(
    env: Env, actor: Actor, *, household_ids: list[int] | None = None, building: str | None = None
) -> tuple[bytes, int]:
    """PDF cards of every live pass of some households or a building; audited."""
    async with env.db.write() as conn:
        rows = await pass_store.printable(
            conn,
            scope=actor.scope,
            now=env.clock.now(),
            household_ids=household_ids,
            building=building,
        )
        if len(rows) > MAX_BULK_CARDS:
            raise Conflict(f"{len(rows)} cards: print at most {MAX_BULK_CARDS} at once")
        rows, taken = await pins.for_print(conn, env, actor, rows)
        target = f"building:{building}" if building else None
        await audit.record(
            conn,
            actor,
            "pass.print",
            at=env.clock.now(),
            target=target,
            households=household_ids or [],
            cards=len(rows),
        )
    rows.sort(key=lambda r: (address_key(r.building, r.unit, r.room), r.id))
    pdf = await asyncio.to_thread(
        cards_pdf,
        [_card(r, taken.get(r.ref)) for r in rows],
        utc_offset_min=env.settings.card_utc_offset_min,
    )
    return pdf, len(rows)


@dataclass(frozen=True, slots=True)
class Selection:
    """Which cards to print: the whole site (nothing named), a zone, a building or a unit (单元:
    its name with ``building``, or ``building-unit`` alone)."""

    zone: str | None = None
    building: str | None = None
    unit: str | None = None

    def target(self) -> str:
        """The audit target: ``site``, ``zone:东区``, ``building:1号楼``, ``unit:1号楼-1单元``."""
        if self.unit:
            return f"unit:{self.unit}" if not self.building else f"unit:{self.building}-{self.unit}"
        if self.building:
            return f"building:{self.building}"
        return f"zone:{self.zone}" if self.zone else "site"


@dataclass(frozen=True, slots=True)
class Place:
    """A selection resolved against the registry: the filters of the store query."""

    zone_id: int | None
    building: str | None
    unit: str | None


async def delivery_cards(
    env: Env,
    actor: Actor,
    selection: Selection,
    out: Path,
    *,
    face: CardWords,
    checklist: ChecklistWords,
) -> Printed:
    """Write the delivery PDF of ``selection`` to ``out`` atomically (a temporary file beside
    it, renamed when complete): per unit, a checklist page, then its cards. Audited."""
    async with env.db.write() as conn:  # PIN cards take their PINs (or are reissued) here
        place = await _resolve(conn, actor, selection)
        rows = await pass_store.printable(
            conn,
            scope=actor.scope,
            now=env.clock.now(),
            zone_id=place.zone_id,
            building=place.building,
            unit=place.unit,
            residents_only=True,
        )
        if not rows:
            raise Conflict("no live resident pass to print", code="cards.nothing")
        if len(rows) > MAX_BULK_CARDS:
            raise Conflict(
                f"{len(rows)} cards: print at most {MAX_BULK_CARDS} at once",
                code="cards.too_many",
                n=len(rows),
                limit=MAX_BULK_CARDS,
            )
        rows, taken = await pins.for_print(conn, env, actor, rows)
    rows.sort(key=lambda r: (address_key(r.building, r.unit, r.room), r.id))

    def write(target: IO[bytes]) -> Printed:
        return write_delivery_pdf(
            target,
            batches(rows, taken),
            face=face,
            checklist=checklist,
            utc_offset_min=env.settings.card_utc_offset_min,
            title="gatepass cards",
        )

    printed = await asyncio.to_thread(write_atomically, out, write)
    async with env.db.write() as conn:
        await audit.record(
            conn,
            actor,
            "pass.print",
            at=env.clock.now(),
            target=selection.target(),
            cards=printed.cards,
            units=printed.units,
        )
    return printed


def batches(rows: list[PrintablePass], taken: dict[str, str] | None = None) -> Iterator[UnitBatch]:
    """The rows (in delivery order) as one batch per unit, with its checklist rows; ``taken``
    holds the card PIN of each PIN card by ref."""
    taken = taken or {}
    for (building, unit), in_unit in itertools.groupby(rows, key=lambda r: (r.building, r.unit)):
        cards = list(in_unit)
        rooms = [
            RoomLine(
                room=room or "",
                names=tuple(mask_name(r.holder_name) for r in members),
                cards=len(members),
            )
            for (_, room), group in itertools.groupby(cards, key=lambda r: (r.household_id, r.room))
            for members in [list(group)]
        ]
        label = "-".join(part for part in (building, unit) if part)
        yield UnitBatch(
            label=label, rooms=tuple(rooms), cards=tuple(_card(r, taken.get(r.ref)) for r in cards)
        )


def write_atomically(out: Path, write: Callable[[IO[bytes]], Printed]) -> Printed:
    """``write`` into a temporary file beside ``out``, then rename it to ``out``: a reader never
    sees half a PDF, and a failure leaves nothing behind. The file is the operator's alone
    (mode 0600): every QR on it opens the gates."""
    if out.is_dir():
        raise Invalid(
            f"{out} is a directory",
            code="cards.out_unwritable",
            path=str(out),
            reason="a directory",
        )
    try:
        fd, name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".part")
    except OSError as exc:
        raise Invalid(
            f"cannot write {out}: {exc.strerror}",
            code="cards.out_unwritable",
            path=str(out),
            reason=exc.strerror or type(exc).__name__,
        ) from None
    try:
        with os.fdopen(fd, "wb") as tmp:
            printed = write(tmp)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(name, out)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return printed


async def _resolve(conn: Connection, actor: Actor, selection: Selection) -> Place:
    """The zone, building and unit a selection names, or a refusal that says which is unknown."""
    places = await pass_store.unit_places(conn, scope=actor.scope)
    zone_id = None
    if selection.zone:
        zone_id = await _zone_id(conn, actor, selection.zone)
        places = [p for p in places if p.zone_id == zone_id]
    building = selection.building
    if building:
        places = [p for p in places if p.building == building]
        if not places:
            raise NotFound(
                f"no building {building!r}", code="cards.unknown_building", building=building
            )
    if not selection.unit:
        return Place(zone_id=zone_id, building=building, unit=None)
    place = _unit(places, selection.unit)
    return Place(zone_id=zone_id, building=place.building, unit=place.unit)


async def _zone_id(conn: Connection, actor: Actor, zone: str) -> int:
    found = await registry_store.get_zone(conn, zone_id=int(zone)) if zone.isdigit() else None
    found = found or await registry_store.find_zone(conn, name=zone)
    if found is None or (actor.scope is not None and found.id not in actor.scope):
        raise NotFound(f"no zone {zone!r}", code="cards.unknown_zone", zone=zone)
    return int(found.id)


def _unit(places: list[UnitPlace], unit: str) -> UnitPlace:
    """The one unit named ``unit`` (its own name, or ``building-unit``) among ``places``."""
    found = [p for p in places if unit in (p.unit, f"{p.building}-{p.unit}")]
    if not found:
        raise NotFound(f"no unit {unit!r}", code="cards.unknown_unit", unit=unit)
    if len(found) > 1:
        buildings = "、".join(sorted((p.building for p in found), key=natural_key))
        raise Invalid(
            f"unit {unit!r} is in several buildings ({buildings}): name the building too",
            code="cards.ambiguous_unit",
            unit=unit,
            buildings=buildings,
        )
    return found[0]


async def unit_places(env: Env, actor: Actor) -> list[UnitPlace]:
    """The units the actor may print, in delivery order (the print page's choices)."""
    async with env.db.read() as conn:
        places = await pass_store.unit_places(conn, scope=actor.scope)
    return sorted(places, key=lambda p: (natural_key(p.building), natural_key(p.unit)))
