"""Gate provisioning: register a lane, give it broker credentials, write its TOML; remove, re-key.

A gate's broker password is generated here, written once into the gate's file (0600) and kept
on the server only as the hash ``mosquitto_passwd`` makes of it (the broker's password file is
assembled from those hashes by ``broker-config``). The file goes where the admin says, for the
installer to carry to the gate, and never into the server's data directory: a copy of the data
directory (a backup, a stolen disk) holds no gate's password. ``rekey`` issues a new password
(and deletes a file an older version left in ``DATA/gates/``). The password never appears on a
command line: ``mosquitto_passwd -U`` hashes a plain-text file in a private temporary directory.
When a broker directory was configured, its password file is rewritten at once; the broker
picks the change up on its next reload (SIGHUP, ``systemctl reload mosquitto``).
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from protocol.messages import LaneDirection
from protocol.topics import validate_id
from server.records import Gate
from server.services import audit
from server.services.context import Actor, Env
from server.services.errors import Conflict, Invalid, NotFound
from server.services.gates.broker_accounts import (
    SERVER_ACCOUNT,
    hash_line,
    new_password,
    refresh_broker_files,
)
from server.services.gates.gate_file import GateFile, Hardware, render
from server.services.gates.policy import lane_policy
from server.store import broker_accounts as account_store
from server.store import keys as key_store
from server.store import registry
from server.store.db import Connection

logger = logging.getLogger(__name__)

RESERVED_IDS = frozenset({SERVER_ACCOUNT})


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    """Where the gate finds the broker."""

    host: str
    port: int
    tls_ca: str | None = None


async def root_key_hex(conn: Connection) -> str:
    """The site's root public key, raw 32 bytes in hex: what a gate pins."""
    for row in await key_store.list_keys(conn, include_retired=False):
        if row.use == "root":
            return bytes(row.public_raw).hex()
    raise Conflict("the site has no root key: run gatepass-server init")


LEGACY_DIR = "gates"  # where gate files went before they were handed out only


def legacy_file(env: Env, gate: str) -> Path:
    """The copy of a gate's file an older version kept in the data directory."""
    return env.settings.data_dir / LEGACY_DIR / f"{gate}.toml"


def leftover_gate_files(data_dir: Path) -> list[Path]:
    """Gate files an older version kept in the data directory (each with a plain password)."""
    return sorted((data_dir / LEGACY_DIR).glob("*.toml"))


def check_destination(env: Env, out: Path) -> None:
    """Refuse to write a gate's file (its plain password) into the server's data directory."""
    data = env.settings.data_dir.resolve()
    if out.resolve().is_relative_to(data):
        raise Invalid(
            f"{out} is inside the data directory {data}: write the gate's file elsewhere "
            "(it holds the gate's password), hand it to the installer, then delete it",
            code="gates.file_in_data_dir",
        )


def write_private(path: Path, text: str, *, overwrite: bool) -> None:
    """Write ``text`` 0600 through a temporary file and a rename (never a half-written file)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.exists() and not overwrite:
        raise Conflict(f"{path} exists: remove it first or use gate rekey")
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    tmp.replace(path)


async def _zone_id(conn: Connection, zone: str) -> int:
    found = await registry.get_zone(conn, zone_id=int(zone)) if zone.isdigit() else None
    found = found or await registry.find_zone(conn, name=zone)
    if found is None:
        raise Invalid(f"zone {zone!r} does not exist (give its number or name)")
    return int(found.id)


def _check_gate_id(gate: str) -> None:
    try:
        validate_id(gate, "gate")
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    if gate in RESERVED_IDS:
        raise Invalid(f"{gate!r} is reserved for the server's broker account")


async def add_gate(
    env: Env,
    actor: Actor,
    *,
    gate: str,
    zone: str,
    direction: LaneDirection,
    name: str | None,
    broker: BrokerAddress,
    hardware: Hardware,
    out: Path,
) -> Path:
    """Register a lane with new broker credentials and write its TOML file; returns the path."""
    _check_gate_id(gate)
    check_destination(env, out)
    if await asyncio.to_thread(out.exists):
        raise Conflict(f"{out} exists: remove it first or use gate rekey")
    password = new_password()
    line = await asyncio.to_thread(hash_line, gate, password)
    now = env.clock.now()
    async with env.db.write() as conn:
        if await registry.get_gate(conn, gate_id=gate) is not None:
            raise Conflict(f"gate {gate} exists")
        zone_id = await _zone_id(conn, zone)
        lane = Gate(
            id=gate,
            zone_id=zone_id,
            name=(name or gate)[:64],
            direction=direction.value,
            created_at=now,
        )
        await registry.insert_gate(conn, lane)
        await account_store.put_account(conn, username=gate, role="gate", hash_line=line, now=now)
        await audit.record(conn, actor, "gate.add", at=now, target=f"gate:{gate}", zone=zone_id)
        text = await _gate_file(
            conn, env, gate=gate, password=password, broker=broker, hardware=hardware
        )
        write_private(out, text, overwrite=False)
    await refresh_broker_files(env)
    return out


async def rekey_gate(
    env: Env, actor: Actor, *, gate: str, broker: BrokerAddress, hardware: Hardware, out: Path
) -> Path:
    """New broker credentials for a gate (the old password stops at the broker's next reload)."""
    check_destination(env, out)
    password = new_password()
    line = await asyncio.to_thread(hash_line, gate, password)
    now = env.clock.now()
    async with env.db.write() as conn:
        if await registry.get_gate(conn, gate_id=gate) is None:
            raise NotFound(f"gate {gate}")
        await account_store.put_account(conn, username=gate, role="gate", hash_line=line, now=now)
        await audit.record(conn, actor, "gate.rekey", at=now, target=f"gate:{gate}")
        text = await _gate_file(
            conn, env, gate=gate, password=password, broker=broker, hardware=hardware
        )
        write_private(out, text, overwrite=True)
    await asyncio.to_thread(legacy_file(env, gate).unlink, missing_ok=True)
    await refresh_broker_files(env)
    return out


async def remove_gate(env: Env, actor: Actor, *, gate: str, file: Path | None) -> None:
    """Unregister a gate and drop its broker account (its events and alerts stay)."""
    now = env.clock.now()
    async with env.db.write() as conn:
        if not await registry.delete_gate(conn, gate_id=gate):
            raise NotFound(f"gate {gate}")
        await account_store.delete_account(conn, username=gate)
        await audit.record(conn, actor, "gate.remove", at=now, target=f"gate:{gate}")
    if file is not None:
        await asyncio.to_thread(file.unlink, missing_ok=True)
    await refresh_broker_files(env)


async def _gate_file(
    conn: Connection,
    env: Env,
    *,
    gate: str,
    password: str,
    broker: BrokerAddress,
    hardware: Hardware,
) -> str:
    row = await registry.get_gate(conn, gate_id=gate)
    site = await registry.get_site(conn)
    assert row is not None
    assert site is not None
    return render(
        GateFile(
            site=site.id,
            gate=gate,
            zone=row.zone_id,
            direction=row.direction,
            broker_host=broker.host,
            broker_port=broker.port,
            password=password,
            root_key_hex=await root_key_hex(conn),
            tls_ca=broker.tls_ca,
            hardware=hardware,
            policy=await lane_policy(conn, row),
            session_expiry_s=env.settings.mqtt_session_expiry_s,
        )
    )
