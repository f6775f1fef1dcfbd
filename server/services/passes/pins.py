"""Card PINs at print time (issue 16 item 6).

A resident without a phone proves at the lane that they hold their card with a 4-digit PIN
drawn at issue (server.services.passes.issuing). The server keeps its keyed hash, and the PIN
itself only until the card is printed: printing takes it onto the card's tear-off strip and wipes
it. Printing a PIN card again (the PIN is gone) draws a new PIN and reissues the pass, the old one
revoked, so every printed card has the PIN that opens it and no older card stays valid.
"""

from __future__ import annotations

import msgspec

from server.records import PrintablePass
from server.services import audit
from server.services.context import Actor, Env
from server.services.passes import issuing
from server.store import card_pins as pin_store
from server.store.db import Connection

REPRINTED = "card reprinted as {ref}"


async def for_print(
    conn: Connection, env: Env, actor: Actor, rows: list[PrintablePass]
) -> tuple[list[PrintablePass], dict[str, str]]:
    """The passes to print (reprinted PIN cards replaced by their new passes) and the PIN of
    each PIN card by ref; inside the print's write transaction, which wipes the PINs taken."""
    stored = await pin_store.pins_of(conn, refs=[r.ref for r in rows])
    if not stored:
        return rows, {}
    using: issuing.Signing | None = None
    out: list[PrintablePass] = []
    for row in rows:
        pin = stored.get(row.ref)
        if pin is None or pin.pending is not None or row.resident_id is None:
            out.append(row)
            continue
        using = using or await issuing.signing(conn, env)
        out.append(await _reissue(conn, env, actor, row, using))
    fresh = await pin_store.pins_of(conn, refs=[r.ref for r in out])
    pins = {ref: p.pending for ref, p in fresh.items() if p.pending is not None}
    now = env.clock.now()
    await pin_store.mark_printed(conn, refs=sorted(pins), at=now)
    for ref in sorted(pins):
        await audit.record(conn, actor, "pass.pin_printed", at=now, target=f"pass:{ref}")
    return out, pins


async def _reissue(
    conn: Connection, env: Env, actor: Actor, row: PrintablePass, using: issuing.Signing
) -> PrintablePass:
    """A new pass (and PIN, if the resident still has no phone) for a PIN card printed before;
    the old pass is revoked. Valid as long as the card it replaces."""
    assert row.resident_id is not None
    holder = await issuing.resident_holder(conn, actor, row.resident_id)
    new = await issuing.sign_for(conn, env, actor, holder, expires=row.expires, using=using)
    await issuing.revoke_in(conn, env, actor, [row], REPRINTED.format(ref=new.ref))
    fields = msgspec.structs.asdict(new)
    return PrintablePass(
        **fields,
        holder_name=row.holder_name,
        label=row.label,
        building=row.building,
        unit=row.unit,
        room=row.room,
    )
