"""Gates as staff use them: health, commands to a lane, a gate's policy, the link's status.

The running broker link (or None without a broker) comes from server.http.deps.link_of.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request

from server.api.models.common import PageOut
from server.api.models.gates import CommandIn, CommandOut, GateHealthOut, PolicyIn
from server.api.types import GateQuery, PageNo, PageSize
from server.http.deps import AdminDep, EnvDep, StaffDep, link_of
from server.services.gates import commands as gate_commands
from server.services.gates import health as gate_health
from server.services.gates import policy as gate_policy
from server.services.paging import Page

router = APIRouter(prefix="/api/v1", tags=["gates"])
GatePath = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[a-z0-9-]+$")]
ZonePath = Annotated[int, Path(ge=0, le=65535)]


@router.get("/gate-health")
async def list_health(env: EnvDep, actor: StaffDep) -> list[GateHealthOut]:
    """Every lane in the caller's zones: online or not since when, devices, backlog, alerts."""
    return [GateHealthOut.of(r) for r in await gate_health.gate_health(env, actor)]


@router.get("/gate-health/{gate_id}")
async def get_health(gate_id: GatePath, env: EnvDep, actor: StaffDep) -> GateHealthOut:
    """One lane's health."""
    rows = await gate_health.gate_health(env, actor, gate=gate_id)
    return GateHealthOut.of(rows[0])


@router.post("/gates/{gate_id}/commands", status_code=201, responses={409: {}})
async def send_command(
    gate_id: GatePath, body: CommandIn, request: Request, env: EnvDep, actor: StaffDep
) -> CommandOut:
    """Open a lane once (with a reason), resync it, or (admins) set its mode; expires in 30 s."""
    row = await gate_commands.send(
        env,
        link_of(request),
        actor,
        gate_id,
        body.kind,
        reason=body.reason,
        note=body.note,
        mode=body.mode,
    )
    return CommandOut.model_validate(row)


@router.get("/commands")
async def list_commands(
    *,
    env: EnvDep,
    actor: StaffDep,
    gate: GateQuery = None,
    page: PageNo = 1,
    size: PageSize = 50,
) -> PageOut[CommandOut]:
    """Commands to lanes in the caller's zones, newest first, with the gates' answers."""
    request = Page.request(page, size, sort="issued_at", descending=True)
    rows, total = await gate_commands.list_commands(env, actor, request, gate=gate)
    items = [CommandOut.model_validate(r) for r in rows]
    return PageOut[CommandOut](items=items, total=total, page=page, size=request.size)


@router.put("/gates/{gate_id}/policy")
async def set_policy(
    gate_id: GatePath, body: PolicyIn, env: EnvDep, actor: AdminDep
) -> dict[str, Any]:
    """Replace a lane's policy overrides; the new signed config reaches it within a second."""
    policy = await gate_policy.set_policy(env, actor, gate_id, body.overrides)
    return {"gate": gate_id, "overrides": body.overrides, "policy": gate_policy.as_dict(policy)}


@router.get("/zones/{zone_id}/policy")
async def get_zone_policy(zone_id: ZonePath, env: EnvDep, actor: StaffDep) -> dict[str, Any]:
    """A zone's policy overrides and what each of its lanes decides with (zone, then lane)."""
    overrides, lanes = await gate_policy.zone_policy(env, actor, zone_id)
    policies = {gate: gate_policy.as_dict(p) for gate, p in lanes.items()}
    return {"zone": zone_id, "overrides": overrides, "lanes": policies}


@router.put("/zones/{zone_id}/policy")
async def set_zone_policy(
    zone_id: ZonePath, body: PolicyIn, env: EnvDep, actor: AdminDep
) -> dict[str, Any]:
    """Replace a zone's policy overrides; its lanes get new signed configs within a second."""
    await gate_policy.set_zone_policy(env, actor, zone_id, body.overrides)
    return await get_zone_policy(zone_id, env, actor)


@router.get("/link")
async def link_status(request: Request, actor: StaffDep) -> dict[str, Any]:
    """Whether the broker link is up, and ingest counters (``enabled`` false without a broker)."""
    link = link_of(request)
    if link is None:
        return {"enabled": False}
    return {"enabled": True, **asdict(link.describe())}
