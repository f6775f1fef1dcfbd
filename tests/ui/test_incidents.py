"""One place per incident and refused checks (issue 17 items 2-4), in-process: the alert card
links to the incident page; its subject (lane, household, holder masked, pass, attempts); each
action stored and audited (call, unlock, reissue, outcome that closes the alert); refused
checks recorded at the console and counted on the household page; an override linked to the
scan before it; malformed input, CSRF and another zone's ids refused."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa

from protocol.messages import AlarmKind, EventKind
from protocol.reasons import ReasonCode
from server.services.context import Env
from server.store.schema import audit_log, passes
from server.store.schema_gates import alert_actions, alerts, refusals
from tests.server.conftest import Api, seed
from tests.server.test_locks import Lane
from tests.ui.conftest import form_post
from tests.ui.data import make_gates


def _rows(api: Api, query: Any) -> list[dict[str, Any]]:
    async def go(env: Env) -> list[dict[str, Any]]:
        async with env.db.read() as conn:
            return [dict(r._mapping) for r in await conn.execute(query)]

    return api.site.run(go)  # type: ignore[no-any-return]


def _lending(api: Api) -> dict[str, Any]:
    """Resident 张三 (zone 1) with a pass tried with wrong digits twice, then locked at east-in
    with the suspected-lending alarm, through the server's real ingest."""
    ids = seed(api)
    make_gates(api)
    api.use("admin")
    issued = api.post("/api/v1/passes", json={"resident_id": ids["r1"]}).json()
    lane = Lane(api.site, "east-in")
    for _ in range(2):
        lane.report(issued["ref"], reason=ReasonCode.PHONE_MISMATCH)
        api.site.clock.advance(10)
    lane.report(issued["ref"], alarm=AlarmKind.SUSPECTED_LENDING)
    (alert,) = _rows(api, sa.select(alerts).where(alerts.c.kind == "suspected_lending"))
    return ids | {"ref": issued["ref"], "pass": issued["id"], "alert": alert["id"], "lane": lane}


def _audit(api: Api, action: str) -> list[dict[str, Any]]:
    return _rows(api, sa.select(audit_log).where(audit_log.c.action == action))


def test_the_alert_card_leads_to_its_incident_with_the_subject(api: Api) -> None:
    case = _lending(api)
    api.use("east-desk")
    dashboard = api.get("/ui/").text
    assert f'href="/ui/alerts/{case["alert"]}"' in dashboard
    page = api.get(f"/ui/alerts/{case['alert']}")
    assert page.status_code == 200
    html = page.text
    assert "疑似借用通行证" in html
    assert 'href="/ui/console/east-in"' in html
    assert f'href="/ui/households/{case["h1"]}"' in html
    assert f'href="/ui/residents/{case["r1"]}"' in html
    assert case["ref"] in html
    assert "张*" in html
    assert "张三" not in html
    assert "138****8000" in html
    assert "13800138000" not in html
    assert html.count("data-event=") >= 3  # the two wrong tries and the lock
    assert f'action="/ui/alerts/{case["alert"]}/unlock"' in html
    assert 'action="/ui/alerts/' + str(case["alert"]) + '/reissue"' not in html  # admins only
    assert "/reveal" not in html  # admins only


def test_each_action_is_kept_and_audited_and_the_outcome_closes_the_alert(api: Api) -> None:
    case = _lending(api)
    base = f"/ui/alerts/{case['alert']}"
    api.use("east-desk")
    called = form_post(api, f"{base}/call", {"result": "reached", "note": "户主说借给了亲戚"})
    assert (called.status_code, called.headers["location"]) == (303, f"{base}?done=call")

    blank = form_post(api, f"{base}/unlock", {"note": "  "})
    assert blank.status_code == 422
    assert api.get("/api/v1/passes/locks").json() != []
    unlocked = form_post(api, f"{base}/unlock", {"note": "身份证已核验"})
    assert unlocked.status_code == 303
    assert api.get("/api/v1/passes/locks").json() == []

    assert form_post(api, f"{base}/reissue", {}).status_code == 403  # staff
    api.use("admin")
    reissued = form_post(api, f"{base}/reissue", {})
    assert reissued.status_code == 303
    again = form_post(api, f"{base}/reissue", {})  # a second press issues nothing more
    assert again.status_code == 409
    assert "不会重复补发" in again.text
    held = _rows(api, sa.select(passes).where(passes.c.resident_id == case["r1"]))
    assert [p["revoked_at"] is not None for p in held] == [True, False]
    assert held[0]["ref"] == case["ref"]

    api.use("east-desk")
    for wrong in ("", "放行", "x" * 40):
        refused = form_post(api, f"{base}/outcome", {"outcome": wrong})
        assert refused.status_code == 422, wrong
    assert _rows(api, sa.select(alerts.c.acked_at))[0]["acked_at"] is None
    closed = form_post(api, f"{base}/outcome", {"outcome": "educated", "note": "已教育"})
    assert closed.status_code == 303
    (alert,) = _rows(api, sa.select(alerts))
    assert (alert["acked_by"], alert["ack_note"]) == ("east-desk", "educated: 已教育")
    assert form_post(api, f"{base}/outcome", {"outcome": "educated"}).status_code == 409
    done = _rows(api, sa.select(alert_actions).order_by(alert_actions.c.id))
    assert [(d["action"], d["outcome"]) for d in done] == [
        ("call", "reached"),
        ("unlock", None),
        ("reissue", None),
        ("outcome", "educated"),
    ]
    assert [a["actor"] for a in _audit(api, "alert.outcome")] == ["east-desk"]
    assert len(_audit(api, "alert.call")) == 1
    assert "已教育" not in str(_audit(api, "alert.outcome"))  # the note stays with the alert
    page = api.get(base).text
    assert "已处置" in page
    assert "批评教育" in page
    assert f'action="{base}/outcome"' not in page
    assert f'href="/ui/alerts/{case["alert"]}"' not in api.get("/ui/").text  # left the list


def test_admins_reveal_the_holder_with_a_reason(api: Api) -> None:
    case = _lending(api)
    base = f"/ui/alerts/{case['alert']}"
    api.use("east-desk")
    assert form_post(api, f"{base}/reveal", {"reason": "核实"}).status_code == 403
    api.use("admin")
    assert f'action="{base}/reveal"' in api.get(base).text
    assert form_post(api, f"{base}/reveal", {"reason": ""}).status_code == 422
    shown = form_post(api, f"{base}/reveal", {"reason": "核实借用"})
    assert shown.status_code == 200
    assert "张三" in shown.text
    assert "+8613800138000" in shown.text
    (entry,) = _audit(api, "resident.reveal_phone")
    assert entry["detail"]["reason"] == "核实借用"


def test_malformed_input_another_zone_and_csrf_are_refused(api: Api) -> None:
    case = _lending(api)
    base = f"/ui/alerts/{case['alert']}"
    api.use("west-desk")  # another zone's staff
    assert api.get(base).status_code == 404
    for action, data in (("call", {"result": "reached"}), ("outcome", {"outcome": "dissuaded"})):
        assert form_post(api, f"{base}/{action}", data).status_code == 404
    assert form_post(api, f"{base}/unlock", {"note": "ID"}).status_code == 404
    api.use("east-desk")
    for bad in ("abc", "1" * 30, "-1", "0", "99999", "1.5", "%00"):
        assert api.get(f"/ui/alerts/{bad}").status_code == 404, bad
    assert api.client.post(f"{base}/call", data={"result": "reached"}).status_code == 403
    too_long = form_post(api, f"{base}/call", {"result": "reached", "note": "x" * 501})
    assert too_long.status_code == 422
    control = form_post(api, f"{base}/call", {"result": "reached", "note": "a\x1b[31mb"})
    assert control.status_code == 422
    assert form_post(api, f"{base}/call", {"result": "maybe"}).status_code == 422
    assert _rows(api, sa.select(alert_actions)) == []
    assert _rows(api, sa.select(alerts.c.acked_at))[0]["acked_at"] is None


def test_refused_checks_at_the_console_are_counted_per_household(api: Api) -> None:
    case = _lending(api)
    api.use("east-desk")
    console = api.get("/ui/console/east-in").text
    assert 'action="/ui/console/east-in/refusal"' in console
    assert '<option value="3-2-201">' in console
    assert "9-1-101" not in console  # another zone's household
    api.site.clock.advance(600)  # the lane's last scan is too old to name anyone
    nobody = form_post(api, "/ui/console/east-in/refusal", {"note": "不配合测温"})
    assert nobody.status_code == 422
    assert "最近 5 分钟内该通道无人刷码" in nobody.text
    assert 'value="不配合测温"' in nobody.text  # what was typed is kept
    unknown = form_post(api, "/ui/console/east-in/refusal", {"household": "9-1-101"})
    assert unknown.status_code == 422
    assert "本片区没有这个住户" in unknown.text
    assert _rows(api, sa.select(refusals)) == []

    case["lane"].report(case["ref"], reason=ReasonCode.NO_TEMPERATURE)
    assert 'name="scan" value="' in api.get("/ui/console/east-in").text  # the scan it names
    by_scan = form_post(api, "/ui/console/east-in/refusal", {"note": "拒绝测温"})
    assert (by_scan.status_code, by_scan.headers["location"]) == (
        303,
        "/ui/console/east-in?sent=refusal",
    )
    picked = form_post(api, "/ui/console/east-in/refusal", {"household": "3-2-201"})
    assert picked.status_code == 303
    stored = _rows(api, sa.select(refusals).order_by(refusals.c.id))
    assert [(r["household_id"], r["pass_ref"], r["gate"], r["zone_id"]) for r in stored] == [
        (case["h1"], case["ref"], "east-in", 1),
        (case["h1"], None, "east-in", 1),
    ]
    assert stored[0]["event_id"] is not None
    assert stored[1]["event_id"] is None
    assert len(_audit(api, "refusal.record")) == 2
    household = api.get(f"/ui/households/{case['h1']}").text
    assert re.search(r"data-refusals-total>2<", household)
    assert "拒绝测温" in household

    assert form_post(api, "/ui/console/west-in/refusal", {}).status_code == 404
    assert api.client.post("/ui/console/east-in/refusal", data={}).status_code == 403
    too_long = form_post(api, "/ui/console/east-in/refusal", {"note": "x" * 201})
    assert too_long.status_code == 422
    control = form_post(api, "/ui/console/east-in/refusal", {"household": "3-2\x00-201"})
    assert control.status_code == 422
    assert len(_rows(api, sa.select(refusals))) == 2


def test_an_override_is_linked_to_the_scan_before_it(api: Api) -> None:
    case = _lending(api)
    lane = case["lane"]
    api.site.clock.advance(100)
    lane.report(case["ref"], reason=ReasonCode.NO_TEMPERATURE)
    api.site.clock.advance(30)  # within the lane's 60 s attribution window
    opened = {"granted": True, "reason": ReasonCode.OVERRIDE, "pass_ref": None}
    lane.report("", operator="east-desk", note="registered_by_hand", **opened)
    api.site.clock.advance(200)
    lane.report("", operator="east-desk", **opened)  # nobody scanned before this one
    api.use("east-desk")
    events = api.get("/ui/events").text
    assert events.count(f'data-override-of="{case["ref"]}"') == 1
    page = api.get(f"/ui/alerts/{case['alert']}").text
    assert page.count("data-override=") == 1
    console = api.get("/ui/console/east-in").text  # the override's card names the scan too
    assert console.count(f'data-override-of="{case["ref"]}"') == 1
    assert "紧随" in console
    assert "3-2-201 张*" in console
    with api.client.stream("GET", "/ui/live/console/east-in?after=0") as live:  # live cards too
        for line in live.iter_lines():
            if "data-override-of" in line:
                assert f'data-override-of="{case["ref"]}"' in line
                break
        else:
            raise AssertionError("the stream ended without the override's card")


def test_an_alarm_without_a_pass_gets_the_generic_page(api: Api) -> None:
    seed(api)
    make_gates(api)
    lane = Lane(api.site, "east-in")
    door = {"kind": EventKind.ALARM, "granted": None, "reason": None, "pass_ref": None}
    lane.report("", alarm=AlarmKind.DOOR_FORCED, **door)
    (alert,) = _rows(api, sa.select(alerts))
    api.use("east-desk")
    html = api.get(f"/ui/alerts/{alert['id']}").text
    assert "该报警未涉及通行证" in html
    assert 'href="/ui/console/east-in"' in html
    assert "/call" not in html
    assert "/unlock" not in html
    assert (
        form_post(api, f"/ui/alerts/{alert['id']}/call", {"result": "reached"}).status_code == 422
    )
    assert form_post(api, f"/ui/alerts/{alert['id']}/unlock", {"note": "x"}).status_code == 422
    closed = form_post(api, f"/ui/alerts/{alert['id']}/outcome", {"outcome": "false_alarm"})
    assert closed.status_code == 303
