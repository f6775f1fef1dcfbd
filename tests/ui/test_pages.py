"""The staff pages in-process: CSRF and origin checks, zone scope, headers and no inline script,
escaping of hostile names, masked phones and the audited reveal, the CSV export, the console's
commands (refused until the MQTT link exists), login, the language switch and error pages."""

from __future__ import annotations

import csv
import io
import re
import time
from typing import Any

import pytest

from server.web.csvout import neutralise
from tests.server.conftest import STRONG, Api, seed
from tests.ui.conftest import form_post
from tests.ui.data import INJECTIONS, add_event, make_gates

MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
PAGES = (
    "/ui/",
    "/ui/console",
    "/ui/console/east-in",
    "/ui/residents",
    "/ui/visitors",
    "/ui/followup",
    "/ui/events",
    "/ui/audit",
    "/ui/import",
    "/ui/login",
)


@pytest.fixture
def ids(api: Api) -> dict[str, Any]:
    """Seeded households, residents (one per hostile name in zone 1), gates and events."""
    found = seed(api)
    make_gates(api)
    api.use("admin")
    for i, name in enumerate(INJECTIONS):
        response = api.post(
            "/api/v1/residents",
            json={
                "household_id": found["h1"],
                "name": name,
                "phone": f"1370013{7000 + i}",
                "role": "family",
                "note": name,
            },
        )
        assert response.status_code == 201, response.text
    card = api.post("/api/v1/passes", json={"resident_id": found["r1"]}).json()
    found["ref"] = card["ref"]
    now_ms = api.site.clock.now() * 1000
    for k, (granted, reason, temp) in enumerate(((True, "ok", 36.5), (False, "fever", 38.2))):
        api.site.run(
            lambda env, g=granted, r=reason, t=temp, k=k: add_event(
                env,
                gate="east-in",
                at_ms=now_ms - 60_000 + k,
                granted=g,
                reason=r,
                pass_ref=card["ref"],
                body_c=t,
            )
        )
    return found


def test_pages_have_strict_headers_and_no_inline_script(api: Api, ids: dict[str, Any]) -> None:
    api.use("admin")
    for lang in ("zh-CN", "en"):
        api.client.cookies.set("gatepass_lang", lang, domain="testserver.local")
        for path in (*PAGES, f"/ui/residents/{ids['r1']}", f"/ui/households/{ids['h1']}"):
            response = api.get(path)
            assert response.status_code == 200, path
            html = response.text
            csp = response.headers["content-security-policy"]
            assert "script-src 'self'" in csp
            assert "'unsafe-inline'" not in csp
            assert response.headers["referrer-policy"] == "same-origin"
            assert re.findall(r"<script(?![^>]*\bsrc=)", html) == [], path
            tags = "".join(re.findall(r"<[^>]+>", html))  # escaped text has no '<' left
            assert re.findall(r"\s(on[a-z]+|style)=", tags) == [], path
            assert f'<html lang="{lang}">' in html


def test_hostile_names_are_escaped_everywhere(api: Api, ids: dict[str, Any]) -> None:
    api.use("admin")
    for path in (f"/ui/households/{ids['h1']}", "/ui/residents?q=%3C"):
        html = api.get(path).text
        assert "<script>alert(1)</script>" not in html
        assert "<img src=x" not in html
        assert "<svg onload" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "O&#39;Brien" in api.get(f"/ui/households/{ids['h1']}").text
    html = api.get("/ui/residents?q=50%25_").text  # LIKE wildcards are literal
    assert "50%_off" in html
    assert f'/ui/residents/{ids["r1"]}"' not in html  # 张三 does not match "50%_"


def test_phones_are_masked_until_an_audited_reveal(api: Api, ids: dict[str, Any]) -> None:
    api.use("admin")
    for path in (
        *PAGES,
        f"/ui/residents/{ids['r1']}",
        f"/ui/households/{ids['h1']}",
        "/ui/residents?q=8000",
    ):
        assert MOBILE.findall(api.get(path).text) == [], path
    listing = api.get("/ui/residents?q=138****8000").text
    assert "138****8000" in listing
    assert "张三" in listing
    revealed = form_post(api, f"/ui/residents/{ids['r1']}/reveal", {"reason": "家属来电核实"})
    assert revealed.status_code == 200
    assert "+8613800138000" in revealed.text
    audit = api.get("/api/v1/audit", params={"action": "resident.reveal_phone"}).json()
    assert [e["detail"]["reason"] for e in audit["items"]] == ["家属来电核实"]


def test_state_changes_need_the_csrf_token_and_same_origin(api: Api, ids: dict[str, Any]) -> None:
    api.use("east-desk")
    url = f"/ui/followup/{ids['r1']}"
    data = {"outcome": "not_reached"}
    assert api.client.post(url, data=data).status_code == 403
    assert api.client.post(url, data={**data, "csrf_token": "wrong"}).status_code == 403
    foreign = {"Origin": "http://evil.example"}
    assert form_post(api, url, data, headers=foreign).status_code == 403
    assert form_post(api, url, data).status_code == 303


def test_staff_see_only_their_zone(api: Api, ids: dict[str, Any]) -> None:
    api.use("east-desk")
    assert "李四" not in api.get("/ui/residents").text
    assert api.get(f"/ui/residents/{ids['r2']}").status_code == 404
    assert api.get(f"/ui/households/{ids['h2']}").status_code == 404
    assert api.get("/ui/console/west-in").status_code == 404
    lanes = api.get("/ui/console").text
    assert "东门入口" in lanes
    assert "西门入口" not in lanes
    api.use("west-desk")
    assert "38.2 °C" not in api.get("/ui/events").text  # zone 1's events stay in zone 1


def test_events_filter_and_csv_export(api: Api, ids: dict[str, Any]) -> None:
    api.use("admin")
    denied = api.get("/ui/events", params={"decision": "denied", "reason": "fever"}).text
    assert "38.2 °C" in denied
    assert "36.5 °C" not in denied
    assert api.get("/ui/events", params={"since": "yesterday"}).status_code == 422
    response = api.get("/ui/events.csv", params={"gate": "east-in"})
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert rows[0][0] == "时间"
    assert len(rows) == 3
    assert [r[4] for r in rows[1:]] == [
        "正常通行",
        "体温异常（发热）",
    ]  # the page's words (issue 17)
    assert {r[6] for r in rows[1:]} == {"张*"}  # names masked in exports


@pytest.mark.parametrize("value", [v for v in INJECTIONS if v[0] in "=+-@"] + ["\tx", "\rx"])
def test_csv_cells_cannot_be_formulas(value: str) -> None:
    assert neutralise(value).startswith("'")
    assert neutralise(-3.5) == "-3.5"  # numbers the code writes stay numbers


def test_console_commands_are_refused_without_the_broker_link(
    api: Api, ids: dict[str, Any]
) -> None:
    """The in-process app runs without a broker: the console says the command was not sent."""
    api.use("east-desk")
    console = api.get("/ui/console/east-in").text
    assert "3-2-201" in console
    assert "张*" in console
    assert "38.2 °C" in console
    assert "暂无指令" in console  # the lane's commands panel: none yet
    refused = form_post(api, "/ui/console/east-in/open", {"reason": "no_smartphone"})
    assert refused.status_code == 409
    assert "服务器当前无法连接门岗" in refused.text
    assert form_post(api, "/ui/console/east-in/open", {"reason": "made-up"}).status_code == 409
    lockdown = form_post(api, "/ui/console/east-in/mode", {"mode": "lockdown"})
    assert lockdown.status_code == 409  # staff may switch their lane; the link is what is missing
    assert "服务器当前无法连接门岗" in lockdown.text
    assert form_post(api, "/ui/console/west-in/mode", {"mode": "lockdown"}).status_code == 404
    assert api.get("/ui/console/east-in/mode", params={"to": "lockdown"}).status_code == 200
    assert api.get("/ui/console/east-in/mode", params={"to": "party"}).status_code == 404


def test_alert_acknowledged_once(api: Api, ids: dict[str, Any]) -> None:
    api.use("east-desk")
    dashboard = api.get("/ui/").text
    alert_id = re.search(r'data-alert="(\d+)"', dashboard).group(1)  # type: ignore[union-attr]
    assert form_post(api, f"/ui/alerts/{alert_id}/ack", {"note": ""}).status_code == 422
    assert form_post(api, f"/ui/alerts/{alert_id}/ack", {"note": "已处理"}).status_code == 303
    assert f'data-alert="{alert_id}"' not in api.get("/ui/").text
    assert form_post(api, f"/ui/alerts/{alert_id}/ack", {"note": "again"}).status_code == 409
    api.use("west-desk")
    assert form_post(api, f"/ui/alerts/{alert_id}/ack", {"note": "x"}).status_code == 404


def test_login_form_redirects_only_inside_the_ui(api: Api) -> None:
    api.use(None)
    ok = api.client.post(
        "/ui/login",
        data={"username": "admin", "password": STRONG, "next": "//evil.example/"},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    assert ok.headers["location"] == "/ui/"
    api.use(None)
    bad = {"username": "nobody", "password": "wrong password"}
    statuses = [api.client.post("/ui/login", data=bad).status_code for _ in range(6)]
    assert statuses[:5] == [401] * 5
    assert statuses[5] == 429


def test_language_switch_sets_a_cookie(api: Api) -> None:
    api.use(None)
    response = api.client.post(
        "/ui/lang", data={"lang": "en", "back": "/ui/login"}, follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/login"
    assert "gatepass_lang=en" in response.headers["set-cookie"]
    assert api.client.post("/ui/lang", data={"lang": "fr"}).status_code == 422
    api.use("admin")
    assert api.client.post("/ui/lang", data={"lang": "en", "csrf_token": "x"}).status_code == 403


def test_one_time_password_must_be_changed_first(api: Api) -> None:
    api.use("admin")
    created = api.post(
        "/api/v1/staff",
        json={"username": "newbie", "display_name": "新同事", "role": "staff", "zone_scope": [1]},
    ).json()
    api.use(None)
    api.client.post(
        "/ui/login", data={"username": "newbie", "password": created["one_time_password"]}
    )
    assert api.client.get("/ui/", follow_redirects=False).headers["location"] == "/ui/password"
    page = api.client.get("/ui/password").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    changed = api.client.post(
        "/ui/password",
        follow_redirects=False,
        data={
            "csrf_token": token,
            "old_password": created["one_time_password"],
            "new_password": STRONG + "!",
        },
    )
    assert changed.headers["location"] == "/ui/login?notice=password"
    assert (
        api.client.get("/ui/", follow_redirects=False).headers["location"].startswith("/ui/login")
    )


def test_visitor_desk_form(api: Api, ids: dict[str, Any]) -> None:
    api.use("east-desk")
    form = {
        "host": "3-2-201",
        "name": "赵六",
        "phone": "13800138123",
        "purpose": "探亲访友",
        "hours": "4",
    }
    response = form_post(api, "/ui/visitors", form)
    assert response.status_code == 303
    visitor = api.get(response.headers["location"]).text
    assert 'class="qr"' in visitor
    assert "138****8123" in visitor
    missing = form_post(api, "/ui/visitors", {**form, "host": "9-1-101"})  # another zone
    assert missing.status_code == 404
    assert 'value="赵六"' in missing.text
    assert "赵六" in api.get("/ui/visitors").text
    started = time.monotonic()
    assert form_post(api, "/ui/visitors", {**form, "phone": "12345"}).status_code == 422
    assert time.monotonic() - started < 5
