"""SQL for card PINs (issue 16 item 6): their keyed hashes, and each PIN only until printed."""

from __future__ import annotations

import sqlalchemy as sa

from server.records import CardPin
from server.store.db import Connection
from server.store.query import records, values_of
from server.store.schema import card_pins


async def insert_pins(conn: Connection, pins: list[CardPin]) -> None:
    """Record the PINs of newly issued passes (one statement for a bulk issue)."""
    if pins:
        await conn.execute(sa.insert(card_pins), [values_of(p, card_pins) for p in pins])


async def pins_of(conn: Connection, *, refs: list[str]) -> dict[str, CardPin]:
    """The PIN rows of the given passes, by ref (passes without a PIN are absent)."""
    found: dict[str, CardPin] = {}
    for start in range(0, len(refs), 500):  # SQLite's bound-parameter limit
        chunk = refs[start : start + 500]
        query = sa.select(card_pins).where(card_pins.c.ref.in_(chunk))
        found |= {p.ref: p for p in records(CardPin, await conn.execute(query))}
    return found


async def mark_printed(conn: Connection, *, refs: list[str], at: int) -> int:
    """Wipe the PINs of these passes now that their cards are printed; rows changed."""
    changed = 0
    for start in range(0, len(refs), 500):
        query = (
            sa.update(card_pins)
            .where(card_pins.c.ref.in_(refs[start : start + 500]), card_pins.c.pending.is_not(None))
            .values(pending=None, printed_at=at)
        )
        changed += (await conn.execute(query)).rowcount
    return changed


async def forget_pending(conn: Connection, *, refs: list[str]) -> None:
    """Wipe the unprinted PINs of passes that will never be printed (revoked)."""
    for start in range(0, len(refs), 500):
        query = (
            sa.update(card_pins)
            .where(card_pins.c.ref.in_(refs[start : start + 500]), card_pins.c.pending.is_not(None))
            .values(pending=None)
        )
        await conn.execute(query)
