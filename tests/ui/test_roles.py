"""Every page x every role (deny by default, as the API's test_roles): anonymous visitors are
sent to the login page, staff are refused admin pages, and a page route without a row here or
without a policy fails (install() refuses unguarded pages)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from server.web.mount import page_routes, unguarded_pages
from tests.server.conftest import Api, seed
from tests.ui.conftest import form_post
from tests.ui.data import make_gates

OK, LOGIN = "ok", "login"
PUBLIC = (OK, OK, OK)
STAFF = (LOGIN, OK, OK)
ADMIN = (LOGIN, 403, OK)
# (method, path): (anonymous, staff of zone 1, admin)
MATRIX: dict[tuple[str, str], tuple[Any, Any, Any]] = {
    ("GET", "/"): PUBLIC,
    ("GET", "/ui/login"): PUBLIC,
    ("POST", "/ui/login"): (401, 401, 401),  # reached; the credentials are wrong
    ("POST", "/ui/lang"): PUBLIC,
    ("GET", "/ui/password"): STAFF,
    ("POST", "/ui/password"): STAFF,
    ("GET", "/ui/"): STAFF,
    ("POST", "/ui/alerts/{alert_id}/ack"): STAFF,
    ("GET", "/ui/alerts/{alert_id}"): STAFF,
    ("POST", "/ui/alerts/{alert_id}/call"): STAFF,
    ("POST", "/ui/alerts/{alert_id}/reissue"): ADMIN,
    ("POST", "/ui/alerts/{alert_id}/unlock"): STAFF,
    ("POST", "/ui/alerts/{alert_id}/outcome"): STAFF,
    ("POST", "/ui/alerts/{alert_id}/reveal"): ADMIN,
    ("POST", "/ui/console/{gate_id}/refusal"): STAFF,
    ("GET", "/ui/console"): STAFF,
    ("GET", "/ui/console/{gate_id}"): STAFF,
    ("POST", "/ui/console/{gate_id}/open"): STAFF,
    ("GET", "/ui/console/{gate_id}/mode"): STAFF,
    ("POST", "/ui/console/{gate_id}/mode"): STAFF,
    ("GET", "/ui/live/console/{gate_id}"): STAFF,
    ("GET", "/ui/live/dashboard"): STAFF,
    ("GET", "/ui/residents"): STAFF,
    ("GET", "/ui/residents/{resident_id}"): STAFF,
    ("POST", "/ui/residents/{resident_id}/observation"): STAFF,
    ("POST", "/ui/residents/{resident_id}/reveal"): ADMIN,
    ("GET", "/ui/residents/{resident_id}/edit"): ADMIN,
    ("POST", "/ui/residents/{resident_id}/edit"): ADMIN,
    ("GET", "/ui/households/{household_id}/new-resident"): ADMIN,
    ("POST", "/ui/households/{household_id}/new-resident"): ADMIN,
    ("GET", "/ui/households/{household_id}"): STAFF,
    ("POST", "/ui/households/{household_id}/hold"): STAFF,
    ("POST", "/ui/residents/{resident_id}/passes"): ADMIN,
    ("POST", "/ui/passes/{pass_id}/renew"): ADMIN,
    ("POST", "/ui/passes/{pass_id}/revoke"): (LOGIN, 403, OK),  # staff: visitor passes only
    ("POST", "/ui/passes/{ref}/unlock"): STAFF,  # 409 here: the pass is not locked
    ("GET", "/ui/passes"): ADMIN,
    ("POST", "/ui/passes/everyone"): ADMIN,
    ("POST", "/ui/passes/revoke-place"): ADMIN,
    ("GET", "/ui/visitors"): STAFF,
    ("POST", "/ui/visitors"): STAFF,
    ("GET", "/ui/visitors/{visitor_id}"): STAFF,
    ("GET", "/ui/cards"): STAFF,
    ("GET", "/ui/cards.pdf"): STAFF,  # the cards of the caller's zones
    ("GET", "/ui/followup"): STAFF,
    ("POST", "/ui/followup/{resident_id}"): STAFF,
    ("POST", "/ui/followup/purpose"): STAFF,  # callers; the service refuses others (403)
    ("POST", "/ui/followup/export.xlsx"): STAFF,  # callers and admins, as above
    ("GET", "/ui/events"): STAFF,
    ("GET", "/ui/events.csv"): STAFF,
    ("POST", "/ui/events/full-names.csv"): ADMIN,  # full names: admins, with a reason
    ("GET", "/ui/reports/daily"): STAFF,
    ("GET", "/ui/reports/daily.pdf"): STAFF,
    ("GET", "/ui/reports/daily.xlsx"): STAFF,
    ("GET", "/ui/audit"): ADMIN,
    ("GET", "/ui/import"): ADMIN,
    ("POST", "/ui/import"): ADMIN,
    ("POST", "/ui/import/{token}"): ADMIN,
    ("GET", "/ui/channels"): ADMIN,
    ("POST", "/ui/channels"): ADMIN,  # 422: the form lacks its fields
    ("GET", "/ui/channels/failed"): ADMIN,
    ("POST", "/ui/channels/failed/{delivery_id}/retry"): ADMIN,
    ("GET", "/ui/channels/{channel_id}"): ADMIN,
    ("POST", "/ui/channels/{channel_id}"): ADMIN,
    ("POST", "/ui/channels/{channel_id}/delete"): ADMIN,
    ("POST", "/ui/channels/{channel_id}/test"): ADMIN,
    ("GET", "/ui/policy"): STAFF,
    ("GET", "/ui/policy/zones/{zone_id}"): STAFF,  # staff: read only
    ("GET", "/ui/policy/lanes/{gate_id}"): STAFF,
    ("POST", "/ui/policy/zones/{zone_id}/preview"): ADMIN,
    ("POST", "/ui/policy/zones/{zone_id}"): ADMIN,
    ("POST", "/ui/policy/lanes/{gate_id}/preview"): ADMIN,
    ("POST", "/ui/policy/lanes/{gate_id}"): ADMIN,
    ("POST", "/ui/residents/{resident_id}/delete"): ADMIN,  # last: it may erase
    ("POST", "/ui/logout"): STAFF,
}


def routes() -> list[tuple[str, str]]:
    return [(m, r.path) for r in page_routes() for m in sorted(r.methods or ()) if m != "HEAD"]


def test_every_page_has_a_policy_and_a_row() -> None:
    assert unguarded_pages() == []
    assert sorted(set(routes()) ^ set(MATRIX)) == []


def _fill(path: str, ids: dict[str, Any]) -> str:
    values = {
        "gate_id": "east-in",
        "zone_id": 1,
        "alert_id": "00000000-0000-4000-8000-000000000000",
        "token": "0" * 32,
        "visitor_id": ids["visitor"],
        "pass_id": ids["pass"],
        "ref": ids["ref"],
        "resident_id": ids["r1"],
        "household_id": ids["h1"],
        "channel_id": 1,
        "delivery_id": 1,
    }
    return re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), path)


def _outcome(response: Any) -> Any:
    if response.status_code == 303 and response.headers["location"].startswith("/ui/login?"):
        return LOGIN
    return response.status_code if response.status_code in (401, 403) else OK


@pytest.fixture
def ids(api: Api) -> dict[str, Any]:
    found = seed(api)
    make_gates(api)
    api.use("admin")
    issued = api.post("/api/v1/passes", json={"resident_id": found["r1"]}).json()
    found["pass"], found["ref"] = issued["id"], issued["ref"]
    api.use("east-desk")
    visitor = api.post(
        "/api/v1/visitors",
        json={
            "host_household_id": found["h1"],
            "name": "访客",
            "phone": "13800001111",
            "purpose": "探亲",
            "hours": 2,
        },
    ).json()
    found["visitor"] = visitor["visitor"]["id"]
    return found


def test_page_role_matrix(api: Api, ids: dict[str, Any]) -> None:
    failures = []
    for (method, path), outcomes in MATRIX.items():
        url = _fill(path, ids)
        for role, expected in zip((None, "east-desk", "admin"), outcomes, strict=True):
            api.use(role)
            if method == "GET":
                if "/live/" in url:
                    continue  # streams: checked below without reading forever
                response = api.client.get(url, follow_redirects=False)
            elif role is None:
                response = api.client.post(
                    url, data={"username": "x", "password": "y"}, follow_redirects=False
                )
            else:
                response = form_post(api, url, {"username": "x", "password": "y", "reason": "r"})
            if _outcome(response) != expected:
                failures.append((method, path, role, response.status_code))
    assert failures == []


def test_streams_refuse_before_streaming(api: Api, ids: dict[str, Any]) -> None:
    api.use(None)
    for url in ("/ui/live/console/east-in", "/ui/live/dashboard"):
        response = api.client.get(url, follow_redirects=False)
        assert _outcome(response) == LOGIN
    api.use("east-desk")
    assert api.client.get("/ui/live/console/west-in").status_code == 404  # another zone's lane
