"""The desk's Unlock button (issue 14 item 1): a pass locked after wrong phone digits shows
*Locked* on its holder's page and on the dashboard's suspected-lending alert, and the button
clears the lock (CSRF-checked, in the staff member's zones only)."""

from __future__ import annotations

from protocol.messages import AlarmKind, EventKind
from tests.server.conftest import Api, seed
from tests.server.test_locks import Lane
from tests.ui.conftest import form_post
from tests.ui.data import make_gates


def test_unlock_from_the_resident_page_and_the_dashboard(api: Api) -> None:
    ids = seed(api)
    make_gates(api)
    api.use("admin")
    ref = api.post("/api/v1/passes", json={"resident_id": ids["r1"]}).json()["ref"]
    lane = Lane(api.site, "east-in")
    lane.report(ref)
    alarm = {"kind": EventKind.ALARM, "granted": None, "reason": None}
    lane.report(ref, alarm=AlarmKind.SUSPECTED_LENDING, **alarm)

    api.use("east-desk")
    page = api.get(f"/ui/residents/{ids['r1']}").text
    assert f'action="/ui/passes/{ref}/unlock"' in page
    assert "已锁定" in page or "Locked" in page
    dashboard = api.get("/ui/").text
    assert f'action="/ui/passes/{ref}/unlock"' in dashboard

    api.use("west-desk")  # another zone's staff: not theirs
    assert form_post(api, f"/ui/passes/{ref}/unlock", {}).status_code == 404
    api.use("east-desk")
    refused = api.client.post(f"/ui/passes/{ref}/unlock", data={}, follow_redirects=False)
    assert refused.status_code == 403  # no CSRF token
    assert api.get("/api/v1/passes/locks").json() != []

    done = form_post(api, f"/ui/passes/{ref}/unlock", {"note": "checked", "back": "dashboard"})
    assert (done.status_code, done.headers["location"]) == (303, "/ui/")
    assert api.get("/api/v1/passes/locks").json() == []
    page = api.get(f"/ui/residents/{ids['r1']}").text
    assert f'action="/ui/passes/{ref}/unlock"' not in page


def test_unlock_from_the_gate_console_needs_a_reason_and_returns_there(api: Api) -> None:
    """Issue 16 item 7: the console's refused-as-locked scan carries the Unlock form."""
    ids = seed(api)
    make_gates(api)
    api.use("admin")
    ref = api.post("/api/v1/passes", json={"resident_id": ids["r1"]}).json()["ref"]
    lane = Lane(api.site, "east-in")
    lane.report(ref)  # refused as locked at east-in

    api.use("east-desk")
    console = api.get("/ui/console/east-in").text
    assert f'action="/ui/passes/{ref}/unlock"' in console
    assert 'value="/ui/console/east-in"' in console
    blank = form_post(api, f"/ui/passes/{ref}/unlock", {"note": " ", "back": "/ui/console/east-in"})
    assert blank.status_code == 422
    assert "原因为必填项" in blank.text or "the reason is required" in blank.text
    assert api.get("/api/v1/passes/locks").json() != []
    for elsewhere in ("https://evil.example/", "//evil.example", "/ui/console/../audit"):
        api.use("admin")
        ref2 = api.post("/api/v1/passes", json={"resident_id": ids["r1"]}).json()["ref"]
        lane.report(ref2)
        api.use("east-desk")
        moved = form_post(api, f"/ui/passes/{ref2}/unlock", {"note": "ID", "back": elsewhere})
        assert moved.status_code == 303
        assert moved.headers["location"] == f"/ui/residents/{ids['r1']}"  # never off-site
    done = form_post(
        api, f"/ui/passes/{ref}/unlock", {"note": "身份证已核验", "back": "/ui/console/east-in"}
    )
    assert (done.status_code, done.headers["location"]) == (303, "/ui/console/east-in")
    assert api.get("/api/v1/passes/locks").json() == []
