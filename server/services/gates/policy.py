"""A gate's decision policy: the site's defaults (protocol.messages.Policy) plus its overrides.

Overrides are stored per gate and validated strictly against the protocol's Policy model, so a
policy that a gate would refuse is refused here first. Changing them makes the link publish a
new signed config version to that gate.
"""

from __future__ import annotations

import msgspec
from msgspec.structs import replace

from protocol.messages import Policy
from server.records import ConfigVersion, JSONObject
from server.services import audit
from server.services.context import Actor, Env
from server.services.errors import Forbidden, Invalid, NotFound
from server.store import gate_state, registry


def effective_policy(overrides: JSONObject | None) -> Policy:
    """The site defaults with ``overrides`` applied."""
    base: JSONObject = msgspec.to_builtins(Policy())
    try:
        return msgspec.convert(base | (overrides or {}), Policy, strict=True)
    except msgspec.ValidationError as exc:
        raise Invalid(f"policy: {exc}") from None


def as_dict(policy: Policy) -> JSONObject:
    """The policy as plain JSON-able data."""
    data: JSONObject = msgspec.to_builtins(policy)
    return data


async def set_policy(env: Env, actor: Actor, gate: str, overrides: JSONObject) -> Policy:
    """Replace a gate's policy overrides (admins); the link publishes the new config."""
    if not actor.is_admin:
        raise Forbidden("admins only")
    unknown = set(overrides) - set(Policy.__struct_fields__)
    if unknown:
        raise Invalid(f"unknown policy keys: {sorted(unknown)}")
    policy = effective_policy(overrides)
    now = env.clock.now()
    async with env.db.write() as conn:
        if await registry.get_gate(conn, gate_id=gate) is None:
            raise NotFound(f"gate {gate}")
        row = await gate_state.get_config(conn, gate=gate)
        if row is None:  # never published: the link's next round gives it version 1
            row = ConfigVersion(gate=gate, version=0, fingerprint="", issued_at=0, policy={})
        await gate_state.put_config(conn, replace(row, policy=overrides))
        await audit.record(
            conn, actor, "gate.policy", at=now, target=f"gate:{gate}", keys=sorted(overrides)
        )
    return policy
