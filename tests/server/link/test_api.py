"""The link's JSON API on the real app, with the link started by the lifespan (real broker)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from protocol.messages import AlarmKind, EventKind
from server.app import create_app
from tests.faults.harness import LinkSite, running_gates
from tests.server.conftest import STRONG, Api, ready_accounts

pytestmark = pytest.mark.broker


@pytest.fixture
def api(link_site: LinkSite) -> Iterator[Api]:
    async def accounts() -> None:
        env = link_site.env()
        try:
            await ready_accounts(env)
        finally:
            await env.db.close()

    asyncio.run(accounts())
    app = create_app(link_site.settings, clock=link_site.clock)
    with TestClient(app, base_url="http://testserver") as client:
        made = Api(client, None)  # type: ignore[arg-type]
        for name in ("admin", "east-desk", "west-desk"):
            made.remember(name, name, STRONG)
        made.use("admin")
        yield made


async def _subscribed(link: Any) -> None:
    await asyncio.wait_for(link.mqtt.subscribed.wait(), 10)


def test_link_status_health_events_alerts_and_commands(api: Api, link_site: LinkSite) -> None:
    link = api.client.app_state["link"]
    api.client.portal.call(_subscribed, link)  # the lifespan's link, on the app's own loop
    status = api.get("/api/v1/link").json()
    assert (status["enabled"], status["connected"], status["stalled"]) == (True, True, False)

    async def gate_work() -> dict[str, Any]:
        async with running_gates(link_site, "east-in") as (gate,):
            await gate.decide(2)
            await gate.decide(
                1,
                kind=EventKind.ALARM,
                alarm=AlarmKind.FEVER_CONFIRMED,
                granted=None,
                reason=None,
                pass_ref="00112233445566aa",
            )
            await gate.drained()
            response = await asyncio.to_thread(api.get, "/api/v1/gate-health/east-in")
            return response.json()  # type: ignore[no-any-return]

    health = asyncio.run(gate_work())
    assert health["ingest"]["acked_seq"] == 3
    assert health["status"]["state"] == "online"
    assert health["open_alerts"] == 1
    listed = api.get("/api/v1/events", params={"gate": "east-in"}).json()
    assert listed["total"] == 3
    alerts = api.get("/api/v1/alerts").json()["items"]
    fever = next(a for a in alerts if a["kind"] == "fever")
    api.use("west-desk")  # zone 2: east-in's alerts are not theirs
    assert api.get(f"/api/v1/alerts/{fever['id']}").status_code == 404
    assert api.get("/api/v1/events").json()["total"] == 0
    api.use("east-desk")
    assert api.post(f"/api/v1/alerts/{fever['id']}/ack", json={"note": " "}).status_code == 422
    acked = api.post(f"/api/v1/alerts/{fever['id']}/ack", json={"note": "sent home, called"})
    assert acked.status_code == 200
    assert acked.json()["acked_by"] == "east-desk"
    assert api.post(f"/api/v1/alerts/{fever['id']}/ack", json={"note": "again"}).status_code == 409
    sent = api.post(
        "/api/v1/gates/east-in/commands", json={"kind": "open_once", "reason": "no_smartphone"}
    )
    assert sent.status_code == 201, sent.text
    assert sent.json()["sent"] is True  # the broker took it; no gate is connected to answer
    lockdown = api.post(  # staff switch the modes of their own zones' lanes
        "/api/v1/gates/east-in/commands", json={"kind": "set_mode", "mode": "lockdown"}
    )
    assert lockdown.status_code == 201, lockdown.text
    api.use("west-desk")  # and no other lane: it does not exist for them
    elsewhere = api.post(
        "/api/v1/gates/east-in/commands", json={"kind": "open_once", "reason": "emergency"}
    )
    assert elsewhere.status_code == 404
    api.use("admin")
    assert api.get("/api/v1/dead-letters").json()["total"] == 0
    assert (
        api.put(
            "/api/v1/gates/east-in/policy", json={"overrides": {"fever_threshold_c": 50.0}}
        ).status_code
        == 422
    )
