"""A gate's decision policy: the site's defaults (protocol.messages.Policy) plus its overrides.

Overrides are stored per zone (server.store.zone_policies) and per gate, the gate's on top of
its zone's (``merge_overrides``), and validated strictly against the protocol's Policy model, so a
policy that a gate would refuse is refused here first. Changing them makes the link publish a
new signed config version to that gate.
"""

from __future__ import annotations

import msgspec
from msgspec.structs import replace

from protocol.messages import Policy
from server.records import ConfigVersion, Gate, JSONObject, ZonePolicy
from server.services import audit
from server.services.context import Actor, Env
from server.services.errors import Forbidden, Invalid, NotFound
from server.store import gate_state, registry
from server.store import zone_policies as zone_store
from server.store.db import Connection

WEEKLY = "weekday_windows"


def effective_policy(overrides: JSONObject | None) -> Policy:
    """The site defaults with ``overrides`` applied."""
    base: JSONObject = msgspec.to_builtins(Policy())
    try:
        return msgspec.convert(base | (overrides or {}), Policy, strict=True)
    except msgspec.ValidationError as exc:
        raise Invalid(f"policy: {exc}") from None


def merge_overrides(zone: JSONObject | None, lane: JSONObject | None) -> JSONObject:
    """A lane's overrides on top of its zone's: a key the lane sets wins, except the weekly
    windows, which merge by day (a weekday the lane names replaces that day of the zone's)."""
    zone, lane = zone or {}, lane or {}
    merged = zone | lane
    if isinstance(zone.get(WEEKLY), list) and isinstance(lane.get(WEEKLY), list):
        own = {w[0] for w in lane[WEEKLY]}
        kept = [w for w in zone[WEEKLY] if w[0] not in own]
        merged[WEEKLY] = sorted(kept + lane[WEEKLY], key=tuple)
    return merged


async def zone_overrides(conn: Connection, zone_id: int) -> JSONObject:
    """The zone's own overrides ({} when it has none)."""
    row = await zone_store.get(conn, zone_id=zone_id)
    return {} if row is None else dict(row.policy)


async def lane_policy(conn: Connection, gate: Gate) -> Policy:
    """What a lane decides with: the site defaults, its zone's overrides, then its own."""
    config = await gate_state.get_config(conn, gate=gate.id)
    lane = None if config is None else config.policy
    return effective_policy(merge_overrides(await zone_overrides(conn, gate.zone_id), lane))


def as_dict(policy: Policy) -> JSONObject:
    """The policy as plain JSON-able data."""
    data: JSONObject = msgspec.to_builtins(policy)
    return data


async def set_policy(env: Env, actor: Actor, gate: str, overrides: JSONObject) -> Policy:
    """Replace a gate's policy overrides (admins); the link publishes the new config. Returns
    what the lane decides with: the site defaults, its zone's overrides, then these."""
    if not actor.is_admin:
        raise Forbidden("admins only")
    unknown = set(overrides) - set(Policy.__struct_fields__)
    if unknown:
        raise Invalid(f"unknown policy keys: {sorted(unknown)}")
    effective_policy(overrides)  # refused before anything is written
    now = env.clock.now()
    async with env.db.write() as conn:
        found = await registry.get_gate(conn, gate_id=gate)
        if found is None or (actor.scope is not None and found.zone_id not in actor.scope):
            raise NotFound(f"gate {gate}")
        zone = await zone_overrides(conn, found.zone_id)
        policy = effective_policy(merge_overrides(zone, overrides))
        row = await gate_state.get_config(conn, gate=gate)
        if row is None:  # never published: the link's next round gives it version 1
            row = ConfigVersion(gate=gate, version=0, fingerprint="", issued_at=0, policy={})
        await gate_state.put_config(conn, replace(row, policy=overrides))
        await audit.record(
            conn, actor, "gate.policy", at=now, target=f"gate:{gate}", keys=sorted(overrides)
        )
    return policy


async def zone_policy(env: Env, actor: Actor, zone_id: int) -> tuple[JSONObject, dict[str, Policy]]:
    """A zone's own overrides and what each of its lanes decides with (the caller's zones)."""
    async with env.db.read() as conn:
        await _zone_in_scope(conn, actor, zone_id)
        lanes = await registry.list_gates(conn, scope=frozenset({zone_id}))
        return await zone_overrides(conn, zone_id), {
            g.id: await lane_policy(conn, g) for g in lanes
        }


async def set_zone_policy(env: Env, actor: Actor, zone_id: int, overrides: JSONObject) -> None:
    """Replace a zone's overrides (admins); the link publishes its lanes' new configs."""
    if not actor.is_admin:
        raise Forbidden("admins only")
    unknown = set(overrides) - set(Policy.__struct_fields__)
    if unknown:
        raise Invalid(f"unknown policy keys: {sorted(unknown)}")
    effective_policy(overrides)  # refused before anything is written
    now = env.clock.now()
    async with env.db.write() as conn:
        await _zone_in_scope(conn, actor, zone_id)
        row = ZonePolicy(zone_id=zone_id, policy=overrides, updated_at=now, updated_by=actor.name)
        await zone_store.put(conn, row)
        await audit.record(
            conn, actor, "zone.policy", at=now, target=f"zone:{zone_id}", keys=sorted(overrides)
        )


async def _zone_in_scope(conn: Connection, actor: Actor, zone_id: int) -> None:
    if await registry.get_zone(conn, zone_id=zone_id) is None or (
        actor.scope is not None and zone_id not in actor.scope
    ):
        raise NotFound(f"zone {zone_id}")
