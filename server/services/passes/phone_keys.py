"""Phone-tag keys per zone: which key tags a pass, which keys each gate holds, and rotation.

A gate needs the phone-tag key of every pass it asks for the last four digits, and whoever holds
that key and a photo of a pass's QR code finds the four digits in at most 10,000 HMACs. So keys
follow the zones: a pass valid in one zone is tagged with that zone's key, which only that zone's
gates hold; a pass valid in several zones (staff, a resident with two zones' access) is tagged
with the site key, which every gate holds. A stolen gate gives away its own zone's holders and the
multi-zone holders, not the whole site's. After a loss, ``rotate`` gives the zone (and the site) a
new key: passes issued from then on use it; passes issued before keep their tags until renewed
(docs/security.md).
"""

from __future__ import annotations

from pathlib import Path

from server.records import PhoneKey
from server.services.passes.keys import KeyProblem, add_phone_key
from server.store import keys as key_store
from server.store.db import Connection

PER_GATE = 4  # newest live versions of the site's and of the zone's: 8, GateConfig's limit


def _secret(keys_dir: Path, row: PhoneKey) -> bytes:
    return bytes.fromhex((keys_dir / row.file).read_text().strip())


def _live(rows: list[PhoneKey], zone: int | None) -> list[PhoneKey]:
    """Unretired versions of ``zone``'s key (None: the site's), oldest first."""
    return [r for r in rows if r.retired_at is None and r.zone_id == zone]


async def tag_key(conn: Connection, keys_dir: Path, zones: tuple[int, ...]) -> tuple[int, bytes]:
    """The version and key a pass for ``zones`` is tagged with: the zone's newest for a
    one-zone pass (the site's while that zone has none yet), else the site's newest."""
    rows = await key_store.list_phone_keys(conn)
    own = _live(rows, zones[0]) if len(zones) == 1 else []
    chosen = own or _live(rows, None)
    if not chosen:
        raise KeyProblem("no phone-tag key: run gatepass-server keys rotate-phone")
    return chosen[-1].version, _secret(keys_dir, chosen[-1])


def versions_for(rows: list[PhoneKey], zone: int) -> list[PhoneKey]:
    """The versions a gate of ``zone`` holds: the site's and its zone's newest, by version."""
    held = _live(rows, None)[-PER_GATE:] + _live(rows, zone)[-PER_GATE:]
    return sorted(held, key=lambda r: r.version)


async def gate_keys(conn: Connection, keys_dir: Path, zone: int) -> dict[int, bytes]:
    """The phone-tag keys a gate of ``zone`` is sent in its signed config."""
    rows = versions_for(await key_store.list_phone_keys(conn), zone)
    return {r.version: _secret(keys_dir, r) for r in rows}


async def rotate(
    conn: Connection, keys_dir: Path, *, zones: list[int | None], now: int
) -> dict[int | None, int]:
    """A new key version for each of ``zones`` (None: the site); returns zone -> version."""
    return {zone: await add_phone_key(conn, keys_dir, now=now, zone=zone) for zone in zones}
