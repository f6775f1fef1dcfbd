"""The app end to end over a real SQLite file: init, login, registry, issue, verify, revoke."""

from __future__ import annotations

import gc

from fastapi.testclient import TestClient

from protocol.passes import Trust, verify
from server.app import create_app
from tests.server.conftest import Api, Site, seed


def test_issue_verify_and_revoke_through_the_api(api: Api) -> None:
    ids = seed(api)
    r = api.post("/api/v1/passes", json={"resident_id": ids["r1"]})
    assert r.status_code == 201, r.text
    issued = r.json()
    claims = verify(issued["text"], Trust.from_manifest(api.site.manifest), api.site.clock.now())
    assert claims.household == ids["h1"]
    assert claims.name == "张*"  # masked: a lost card gives no full name away
    assert claims.unit == "3-2-201"
    assert api.post(f"/api/v1/passes/{issued['id']}/revoke", json={"reason": "lost"}).json() == {
        "count": 1
    }
    summary = api.get("/api/v1/revocations").json()
    assert summary["revoked_refs"] == 1
    assert summary["seq"] >= 1


def test_the_server_process_freezes_its_start_up_heap(site: Site) -> None:
    """``serve`` builds the app with ``settle_heap``: once started, the long-lived objects are
    out of the collector's reach (server.heap); apps built for tests leave the collector be."""
    before = gc.get_freeze_count()
    with TestClient(create_app(site.settings, clock=site.clock)):
        assert gc.get_freeze_count() == before
    try:
        with TestClient(create_app(site.settings, clock=site.clock, settle_heap=True)):
            assert gc.get_freeze_count() > max(before, 10_000)
    finally:
        gc.unfreeze()
