"""Alerts: list and read them (staff, in their zones), acknowledge with a note (audited)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter

from server.api.models.common import PageOut
from server.api.models.gates import AckIn, AlertOut
from server.api.types import GateQuery, IdPath, PageNo, PageSize
from server.http.deps import EnvDep, StaffDep
from server.services.alerts import desk as alerts
from server.services.alerts.kinds import AlertKind
from server.services.paging import Page

router = APIRouter(prefix="/api/v1", tags=["alerts"])


@router.get("/alerts")
async def list_alerts(
    *,
    env: EnvDep,
    actor: StaffDep,
    state: Literal["open", "acknowledged", "all"] = "open",
    kind: AlertKind | None = None,
    gate: GateQuery = None,
    page: PageNo = 1,
    size: PageSize = 50,
    sort: Literal["id", "first_at", "last_at"] = "last_at",
    desc: bool = True,
) -> PageOut[AlertOut]:
    """Alerts of gates in the caller's zones; open (unacknowledged) ones by default."""
    request = Page.request(page, size, sort=sort, descending=desc)
    rows, total = await alerts.list_alerts(
        env, actor, request, state=state, kind=None if kind is None else kind.value, gate=gate
    )
    items = [AlertOut.model_validate(r) for r in rows]
    return PageOut[AlertOut](items=items, total=total, page=page, size=request.size)


@router.get("/alerts/{alert_id}")
async def get_alert(alert_id: IdPath, env: EnvDep, actor: StaffDep) -> AlertOut:
    """One alert."""
    return AlertOut.model_validate(await alerts.get_alert(env, actor, alert_id))


@router.post("/alerts/{alert_id}/ack", responses={409: {}})
async def acknowledge(alert_id: IdPath, body: AckIn, env: EnvDep, actor: StaffDep) -> AlertOut:
    """Acknowledge an alert with what was done about it (once; audited)."""
    return AlertOut.model_validate(await alerts.acknowledge(env, actor, alert_id, body.note))
