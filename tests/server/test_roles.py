"""Every route x every role (deny by default, S-05): the matrix below is the policy, in the repo.

The test walks the app's routes, so a new route without a row here fails the test, and a route
without a policy fails ``create_app`` itself. ``ok`` means the request got past access control
(any status but 401/403); 401 and 403 must be exactly those.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from server.app import api_routes, create_app, unguarded_routes
from tests.server.conftest import Api, seed

OK = "ok"
# (method, path): (anonymous, staff, admin)
MATRIX: dict[tuple[str, str], tuple[Any, Any, Any]] = {
    ("GET", "/healthz"): (OK, OK, OK),
    ("POST", "/api/v1/auth/login"): (
        401,
        401,
        401,
    ),  # public: reached, and the credentials are wrong
    ("GET", "/api/v1/auth/session"): (401, OK, OK),
    ("POST", "/api/v1/auth/password"): (401, OK, OK),
    ("GET", "/api/v1/zones"): (401, OK, OK),
    ("POST", "/api/v1/zones"): (401, 403, OK),
    ("PATCH", "/api/v1/zones/{zone_id}"): (401, 403, OK),
    ("GET", "/api/v1/gates"): (401, OK, OK),
    ("POST", "/api/v1/gates"): (401, 403, OK),
    ("PATCH", "/api/v1/gates/{gate_id}"): (401, 403, OK),
    ("GET", "/api/v1/households"): (401, OK, OK),
    ("GET", "/api/v1/households/{household_id}"): (401, OK, OK),
    ("POST", "/api/v1/households"): (401, 403, OK),
    ("PATCH", "/api/v1/households/{household_id}"): (401, 403, OK),
    ("PUT", "/api/v1/households/{household_id}/hold"): (401, OK, OK),
    ("POST", "/api/v1/households/{household_id}/cutoff"): (401, 403, OK),
    ("GET", "/api/v1/residents"): (401, OK, OK),
    ("GET", "/api/v1/residents/{resident_id}"): (401, OK, OK),
    ("POST", "/api/v1/residents"): (401, 403, OK),
    ("PATCH", "/api/v1/residents/{resident_id}"): (401, 403, OK),
    ("GET", "/api/v1/residents/{resident_id}/export"): (401, 403, OK),
    ("POST", "/api/v1/residents/{resident_id}/reveal-phone"): (401, 403, OK),
    ("PUT", "/api/v1/residents/{resident_id}/observation"): (401, OK, OK),
    ("GET", "/api/v1/visitors"): (401, OK, OK),
    ("GET", "/api/v1/visitors/{visitor_id}"): (401, OK, OK),
    ("POST", "/api/v1/visitors"): (401, OK, OK),
    ("GET", "/api/v1/passes"): (401, OK, OK),
    ("GET", "/api/v1/passes/{pass_id}"): (401, OK, OK),
    ("POST", "/api/v1/passes"): (401, 403, OK),
    ("POST", "/api/v1/passes/bulk"): (401, 403, OK),
    ("POST", "/api/v1/passes/{pass_id}/renew"): (401, 403, OK),
    ("POST", "/api/v1/passes/{pass_id}/revoke"): (
        401,
        403,
        OK,
    ),  # staff: visitor passes only (here a resident pass)
    ("POST", "/api/v1/passes/revoke"): (401, 403, OK),
    ("POST", "/api/v1/passes/everyone"): (401, 403, OK),
    ("POST", "/api/v1/passes/revoke-place"): (401, 403, OK),
    ("GET", "/api/v1/passes/locks"): (401, OK, OK),
    ("POST", "/api/v1/passes/{ref}/unlock"): (401, OK, OK),  # 409 here: the pass is not locked
    ("GET", "/api/v1/passes/{pass_id}/qr.svg"): (401, OK, OK),
    ("GET", "/api/v1/passes/{pass_id}/qr.png"): (401, OK, OK),
    ("GET", "/api/v1/passes/{pass_id}/card.pdf"): (401, OK, OK),
    ("GET", "/api/v1/cards.pdf"): (401, OK, OK),
    ("GET", "/api/v1/staff"): (401, 403, OK),
    ("GET", "/api/v1/staff/{staff_id}"): (401, 403, OK),
    ("POST", "/api/v1/staff"): (401, 403, OK),
    ("PATCH", "/api/v1/staff/{staff_id}"): (401, 403, OK),
    ("POST", "/api/v1/staff/{staff_id}/reset-password"): (401, 403, OK),
    ("GET", "/api/v1/staff/{staff_id}/caller-zones"): (401, 403, OK),
    ("PUT", "/api/v1/staff/{staff_id}/caller-zones"): (401, 403, OK),
    ("GET", "/api/v1/keys"): (401, 403, OK),
    ("POST", "/api/v1/keys/rotate"): (401, 403, OK),
    ("POST", "/api/v1/keys/{kid}/retire"): (401, 403, OK),
    ("GET", "/api/v1/revocations"): (401, 403, OK),
    ("GET", "/api/v1/audit"): (401, 403, OK),
    ("POST", "/api/v1/retention/run"): (401, 403, OK),
    ("GET", "/api/v1/alerts"): (401, OK, OK),
    ("GET", "/api/v1/alerts/{alert_id}"): (401, OK, OK),
    ("POST", "/api/v1/alerts/{alert_id}/ack"): (401, OK, OK),
    ("GET", "/api/v1/gate-health"): (401, OK, OK),
    ("GET", "/api/v1/gate-health/{gate_id}"): (401, OK, OK),
    ("POST", "/api/v1/gates/{gate_id}/commands"): (401, OK, OK),  # 409 here: no broker link
    ("GET", "/api/v1/commands"): (401, OK, OK),
    ("PUT", "/api/v1/gates/{gate_id}/policy"): (401, 403, OK),
    ("GET", "/api/v1/zones/{zone_id}/policy"): (401, OK, OK),
    ("PUT", "/api/v1/zones/{zone_id}/policy"): (401, 403, OK),
    ("GET", "/api/v1/link"): (401, OK, OK),
    ("GET", "/api/v1/events"): (401, OK, OK),
    ("GET", "/api/v1/dead-letters"): (401, 403, OK),
    ("GET", "/api/v1/dead-letters/{letter_id}"): (401, 403, OK),
    # destructive ones last (the test runs them in this order)
    ("POST", "/api/v1/auth/logout"): (401, OK, OK),
    ("DELETE", "/api/v1/residents/{resident_id}"): (401, 403, OK),
    ("DELETE", "/api/v1/households/{household_id}"): (401, 403, OK),
    ("DELETE", "/api/v1/gates/{gate_id}"): (401, 403, OK),
    ("DELETE", "/api/v1/zones/{zone_id}"): (401, 403, OK),
}
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/v1/auth/login"): {"username": "x", "password": "y"},
    ("POST", "/api/v1/auth/password"): {
        "old_password": "wrong one",
        "new_password": "another long one",
    },
    ("POST", "/api/v1/zones"): {"id": 9, "name": "nine"},
    ("PATCH", "/api/v1/zones/{zone_id}"): {"name": "east"},
    ("POST", "/api/v1/gates"): {"id": "g9", "zone_id": 1, "name": "g", "direction": "in"},
    ("PATCH", "/api/v1/gates/{gate_id}"): {"name": "east in"},
    ("POST", "/api/v1/households"): {"zone_id": 1, "building": "7", "room": "701"},
    ("PATCH", "/api/v1/households/{household_id}"): {"room": "202"},
    ("PUT", "/api/v1/households/{household_id}/hold"): {"until": None},
    ("POST", "/api/v1/households/{household_id}/cutoff"): {"reason": "moved"},
    ("POST", "/api/v1/residents"): {"household_id": 1, "name": "王五", "role": "family"},
    ("PATCH", "/api/v1/residents/{resident_id}"): {"note": "n"},
    ("POST", "/api/v1/residents/{resident_id}/reveal-phone"): {"reason": "call"},
    ("PUT", "/api/v1/residents/{resident_id}/observation"): {"status": "normal"},
    ("POST", "/api/v1/visitors"): {
        "host_household_id": 1,
        "name": "V",
        "phone": "13700137000",
        "purpose": "visit",
        "hours": 2,
    },
    ("POST", "/api/v1/passes"): {"resident_id": 1},
    ("POST", "/api/v1/passes/bulk"): {"household_ids": [1]},
    ("POST", "/api/v1/passes/{pass_id}/revoke"): {"reason": "lost"},
    ("POST", "/api/v1/passes/revoke"): {"pass_ids": [1], "reason": "lost"},
    ("POST", "/api/v1/passes/{ref}/unlock"): {"reason": "ID checked"},
    ("POST", "/api/v1/passes/everyone"): {"building": "3"},
    ("POST", "/api/v1/passes/revoke-place"): {"building": "3", "reason": "lost"},
    ("POST", "/api/v1/staff"): {
        "username": "zz",
        "display_name": "Z",
        "role": "staff",
        "zone_scope": [1],
    },
    ("PATCH", "/api/v1/staff/{staff_id}"): {"display_name": "Z"},
    ("PUT", "/api/v1/staff/{staff_id}/caller-zones"): {"zones": [2]},
    ("POST", "/api/v1/keys/rotate"): {"use": "control"},
    ("POST", "/api/v1/alerts/{alert_id}/ack"): {"note": "checked"},
    ("POST", "/api/v1/gates/{gate_id}/commands"): {"kind": "resync"},
    ("PUT", "/api/v1/gates/{gate_id}/policy"): {"overrides": {"apb_minutes": 5}},
    ("PUT", "/api/v1/zones/{zone_id}/policy"): {"overrides": {"retests": 2}},
}


def test_every_route_is_in_the_matrix_and_has_a_policy() -> None:
    routes = {(m, r.path) for r in api_routes() for m in r.methods}
    assert routes == set(MATRIX), routes ^ set(MATRIX)
    assert unguarded_routes() == []


def _fill(path: str, ids: dict[str, Any]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: str(ids[m.group(1)]), path)


def test_route_by_role(api: Api) -> None:
    ids: dict[str, Any] = {}
    seeded = seed(api)
    api.use("admin")
    api.post("/api/v1/gates", json={"id": "east-in", "zone_id": 1, "name": "E", "direction": "in"})
    p = api.post("/api/v1/passes", json={"resident_id": seeded["r1"]}).json()
    v = api.post("/api/v1/visitors", json=BODIES[("POST", "/api/v1/visitors")]).json()
    staff = {s["username"]: s["id"] for s in api.get("/api/v1/staff").json()}
    kid = next(k["kid"] for k in api.get("/api/v1/keys").json() if k["use"] == "control")
    ids.update(
        zone_id=2,
        gate_id="east-in",
        household_id=seeded["h1"],
        resident_id=seeded["r1"],
        pass_id=p["id"],
        ref=p["ref"],
        visitor_id=v["visitor"]["id"],
        staff_id=staff["west-desk"],
        kid=kid,
        alert_id=1,
        letter_id=1,
    )
    failures = []
    for (method, path), expected in MATRIX.items():
        for role, want in zip((None, "east-desk", "admin"), expected, strict=True):
            api.use(role)
            url = _fill(path, ids)
            if path == "/api/v1/cards.pdf":
                url += f"?household_id={seeded['h1']}"
            r = api.client.request(method, url, json=BODIES.get((method, path)), headers=api.csrf)
            if (want == OK and r.status_code in (401, 403)) or (
                want != OK and r.status_code != want
            ):
                failures.append(f"{role} {method} {path}: {r.status_code} {r.text[:80]}")
            assert r.status_code < 500, f"{role} {method} {path}: {r.text}"
            if method == "POST" and path == "/api/v1/auth/logout" and role is not None:
                api.remember(role, role, "correct horse battery staple")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("role", ["east-desk", "west-desk"])
def test_staff_see_only_their_zone(api: Api, role: str) -> None:
    ids = seed(api)
    mine, other = ("h1", "h2") if role == "east-desk" else ("h2", "h1")
    rid_mine, rid_other = ("r1", "r2") if role == "east-desk" else ("r2", "r1")
    api.use(role)
    assert api.get(f"/api/v1/households/{ids[mine]}").status_code == 200
    assert api.get(f"/api/v1/households/{ids[other]}").status_code == 404
    assert api.get(f"/api/v1/residents/{ids[rid_other]}").status_code == 404
    listed = api.get("/api/v1/residents").json()
    assert [r["id"] for r in listed["items"]] == [ids[rid_mine]]
    r = api.post(
        "/api/v1/visitors",
        json={
            "host_household_id": ids[other],
            "name": "V",
            "phone": "13700137000",
            "purpose": "p",
            "hours": 1,
        },
    )
    assert r.status_code == 404
    r = api.put(
        f"/api/v1/residents/{ids[rid_other]}/observation", json={"status": "home_observation"}
    )
    assert r.status_code == 404


def test_an_app_with_an_unguarded_route_is_refused(site: Any) -> None:
    from server.app import ROUTERS

    async def leak() -> dict[str, str]:
        return {}

    ROUTERS[0].add_api_route("/api/v1/leak", leak)
    try:
        with pytest.raises(RuntimeError, match="without an access policy"):
            create_app(site.settings)
    finally:
        ROUTERS[0].routes[:] = [
            r for r in ROUTERS[0].routes if getattr(r, "path", "") != "/api/v1/leak"
        ]
    assert unguarded_routes() == []
