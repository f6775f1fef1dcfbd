"""Printable passes: QR images of one pass and PDF card sheets of one or many (CPU-bound work
runs in a worker thread so the event loop keeps serving gates and staff)."""

from __future__ import annotations

import asyncio

from server.records import PrintablePass
from server.services import audit
from server.services.context import Actor, Env
from server.services.errors import Conflict, NotFound
from server.services.passes import pins
from server.services.passes.cards import Card, cards_pdf, qr_png, qr_svg
from server.store import passes as pass_store

MAX_BULK_CARDS = 5000


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
    pdf = await asyncio.to_thread(
        cards_pdf,
        [_card(r, taken.get(r.ref)) for r in rows],
        utc_offset_min=env.settings.card_utc_offset_min,
    )
    return pdf, len(rows)
