"""A follow-up alert's incident page (issue 17 item 2 for follow-up calls), in-process on a real
SQLite file: a 38.5 °C call recorded at the desk raises ``followup_symptoms``; the dashboard's
处置 link opens its page, which shows the resident (masked, household, resident page) and that
day's calls instead of a lane and a pass; it is resolved with an outcome; another zone's staff
get 404; the admin's audited reveal; malformed subjects name no resident."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from server.records import Alert
from server.services.context import Env
from server.services.incidents.followups import resident_id_of
from server.services.registry.escalation import local_day_start
from server.store import followup as followup_store
from server.store.schema import audit_log
from server.store.schema_gates import alert_actions, alerts
from tests.server.conftest import Api, seed
from tests.ui.conftest import form_post

DAY = 86400


def _rows(api: Api, query: Any) -> list[dict[str, Any]]:
    async def go(env: Env) -> list[dict[str, Any]]:
        async with env.db.read() as conn:
            return [dict(r._mapping) for r in await conn.execute(query)]

    return api.site.run(go)  # type: ignore[no-any-return]


@pytest.fixture
def fever(api: Api) -> dict[str, Any]:
    """张三 (zone 1) under observation; a normal call last night (before the local midnight), today
    an unanswered one and then a reached one reporting 38.5 °C with a cough: the alert."""
    ids = seed(api)
    now = api.site.clock.now()
    api.use("admin")
    body = {"status": "home_observation", "start": now - 2 * DAY, "end": now + 5 * DAY}
    assert api.put(f"/api/v1/residents/{ids['r1']}/observation", json=body).status_code == 200
    api.use("east-desk")
    desk = f"/ui/followup/{ids['r1']}"
    midnight = local_day_start(now, api.site.settings.card_utc_offset_min)

    async def yesterday(env: Env) -> None:
        async with env.db.write() as conn:
            await followup_store.insert_call(
                conn,
                resident_id=ids["r1"],
                at=midnight - 3600,
                caller="east-desk",
                reached=True,
                temperature_c=36.6,
                symptoms=[],
                note="昨日正常",
            )

    api.site.run(yesterday)
    assert form_post(api, desk, {"outcome": "not_reached", "note": "无人接听"}).status_code == 303
    api.site.clock.advance(600)
    hot = {"outcome": "reached", "temperature": "38.5", "symptoms": ["cough"], "note": "咳嗽"}
    assert form_post(api, desk, hot).status_code == 303
    (alert,) = _rows(api, sa.select(alerts))
    assert (alert["kind"], alert["subject"]) == ("followup_symptoms", f"resident:{ids['r1']}")
    return ids | {"alert": alert["id"], "base": f"/ui/alerts/{alert['id']}"}


def test_the_dashboard_link_opens_the_resident_and_the_days_calls(
    api: Api, fever: dict[str, Any]
) -> None:
    base = fever["base"]
    api.use("east-desk")
    dashboard = api.get("/ui/").text
    assert f'href="{base}"' in dashboard
    assert "<span data-about>3-2-201 张*</span>" in dashboard  # who, without opening it
    assert "张三" not in dashboard
    page = api.get(base)
    assert page.status_code == 200
    html = page.text
    assert "回访发现发热或症状" in html
    assert f'href="/ui/residents/{fever["r1"]}"' in html
    assert f'href="/ui/households/{fever["h1"]}"' in html
    assert "3-2-201" in html
    assert "张*" in html
    assert "138****8000" in html
    assert "张三" not in html
    assert "13800138000" not in html
    assert html.count("data-call=") == 2  # today's two calls, not yesterday's
    assert "38.5 °C" in html
    assert "咳嗽" in html
    assert "无人接听" in html
    assert "昨日正常" not in html
    assert 'data-source="followup"' in html
    assert 'data-part="attempts"' not in html  # no pass, no lane: no attempts nor lane row
    assert "该报警未涉及通行证" not in html
    assert "/ui/console/" not in html
    assert f'action="{base}/call"' in html  # the household can be called from here
    assert f'action="{base}/unlock"' not in html
    assert "/reveal" not in html  # admins only


def test_it_is_resolved_with_an_outcome(api: Api, fever: dict[str, Any]) -> None:
    base = fever["base"]
    api.use("east-desk")
    called = form_post(api, f"{base}/call", {"result": "reached", "note": "已安排就医"})
    assert called.status_code == 303
    for wrong in ("", "放行", "x" * 40):
        assert form_post(api, f"{base}/outcome", {"outcome": wrong}).status_code == 422, wrong
    assert _rows(api, sa.select(alerts.c.acked_at))[0]["acked_at"] is None
    closed = form_post(api, f"{base}/outcome", {"outcome": "false_alarm", "note": "体温计故障"})
    assert (closed.status_code, closed.headers["location"]) == (303, f"{base}?done=outcome")
    (alert,) = [Alert(**r) for r in _rows(api, sa.select(alerts))]
    assert (alert.acked_by, alert.ack_note) == ("east-desk", "false_alarm: 体温计故障")
    assert form_post(api, f"{base}/outcome", {"outcome": "educated"}).status_code == 409
    done = _rows(api, sa.select(alert_actions).order_by(alert_actions.c.id))
    assert [(d["action"], d["outcome"]) for d in done] == [
        ("call", "reached"),
        ("outcome", "false_alarm"),
    ]
    audited = _rows(api, sa.select(audit_log).where(audit_log.c.action == "alert.outcome"))
    assert [(a["actor"], a["detail"]["kind"]) for a in audited] == [
        ("east-desk", "followup_symptoms")
    ]
    page = api.get(base).text
    assert "已处置" in page
    assert "误报" in page
    assert f'action="{base}/outcome"' not in page
    assert f'href="{base}"' not in api.get("/ui/").text  # left the dashboard


def test_another_zone_gets_404_and_malformed_input_is_refused(
    api: Api, fever: dict[str, Any]
) -> None:
    base = fever["base"]
    api.use("west-desk")
    assert api.get(base).status_code == 404
    assert f'href="{base}"' not in api.get("/ui/").text
    for action, data in (
        ("call", {"result": "reached"}),
        ("outcome", {"outcome": "dissuaded"}),
        ("unlock", {"note": "ID"}),
    ):
        assert form_post(api, f"{base}/{action}", data).status_code == 404, action
    api.use("east-desk")
    assert form_post(api, f"{base}/unlock", {"note": "ID"}).status_code == 422  # no pass
    assert api.client.post(f"{base}/outcome", data={"outcome": "dissuaded"}).status_code == 403
    long_note = form_post(api, f"{base}/outcome", {"outcome": "dissuaded", "note": "x" * 501})
    assert long_note.status_code == 422
    assert _rows(api, sa.select(alerts.c.acked_at))[0]["acked_at"] is None
    assert _rows(api, sa.select(alert_actions)) == []


def test_admins_reveal_the_resident_with_a_reason(api: Api, fever: dict[str, Any]) -> None:
    base = fever["base"]
    api.use("admin")
    assert f'action="{base}/reveal"' in api.get(base).text
    assert form_post(api, f"{base}/reveal", {"reason": ""}).status_code == 422
    shown = form_post(api, f"{base}/reveal", {"reason": "联系就医"})
    assert shown.status_code == 200
    assert "张三" in shown.text
    assert "+8613800138000" in shown.text
    (entry,) = _rows(api, sa.select(audit_log).where(audit_log.c.action == "resident.reveal_phone"))
    assert entry["detail"]["reason"] == "联系就医"


@pytest.mark.parametrize(
    ("gate", "subject", "expected"),
    [
        (None, "resident:42", 42),
        ("east-in", "resident:42", None),  # a lane's alert is not about a resident
        (None, "resident:", None),
        (None, "resident:-1", None),
        (None, "resident:4x", None),
        (None, "resident:" + "9" * 30, None),
        (None, "0123456789abcdef", None),
        (None, "site", None),
    ],
)
def test_only_a_well_formed_subject_names_a_resident(
    gate: str | None, subject: str, expected: int | None
) -> None:
    alert = Alert(
        id=1,
        kind="followup_symptoms",
        severity="high",
        gate=gate,
        subject=subject,
        event_id=None,
        count=1,
        first_at=0,
        last_at=0,
        detail={},
        resolved_at=None,
        acked_at=None,
        acked_by=None,
        ack_note=None,
    )
    assert resident_id_of(alert) == expected
