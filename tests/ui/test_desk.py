"""The follow-up desk (issue 17 item 1) and the resident page's history (item 4), through the
app in-process on a real SQLite file: caller zones set by admins (API and CLI), full numbers
only for callers who stated today's purpose (audited), who ends observation today, alerts from
fevers, symptoms and unanswered calls, the street office's XLSX sheet read back with openpyxl,
the resident's paged gate history, and malformed input to every new endpoint."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from server.cli.main import main
from server.records import Alert
from server.services.context import CLI_ACTOR, Env
from server.services.passes import issuing
from server.services.registry import places
from server.services.registry.escalation import fever_threshold_c, local_day_start
from server.store.schema import audit_log
from server.store.schema_gates import alerts
from server.web.format import Clockface
from server.web.xlsxout import XLSX_TYPE
from tests.server.conftest import Api, seed
from tests.ui.conftest import form_post
from tests.ui.data import add_event

DAY = 86400
HEADERS = ["姓名", "楼号单元房号", "电话", "观察起止", "今日体温", "是否联系上", "备注"]


@pytest.fixture
def observed(api: Api) -> dict[str, Any]:
    """张三 (zone 1) under observation from two days ago for a week; 李四's household on hold
    until the end of today (local time)."""
    ids = seed(api)
    now = api.site.clock.now()
    api.use("admin")
    body = {"status": "home_observation", "start": now - 2 * DAY, "end": now + 5 * DAY}
    assert api.put(f"/api/v1/residents/{ids['r1']}/observation", json=body).status_code == 200
    today_ends = local_day_start(now, api.site.settings.card_utc_offset_min) + DAY
    hold = api.put(f"/api/v1/households/{ids['h2']}/hold", json={"until": today_ends})
    assert hold.status_code == 200
    return ids


def _make_caller(api: Api, staff_id: int, zones: list[int]) -> Any:
    api.use("admin")
    return api.put(f"/api/v1/staff/{staff_id}/caller-zones", json={"zones": zones})


def _staff_id(api: Api, username: str) -> int:
    api.use("admin")
    return next(s["id"] for s in api.get("/api/v1/staff").json() if s["username"] == username)


def _audit(api: Api, action: str) -> list[dict[str, Any]]:
    async def read(env: Env) -> list[dict[str, Any]]:
        async with env.db.read() as conn:
            query = sa.select(audit_log).where(audit_log.c.action == action)
            return [dict(r._mapping) for r in (await conn.execute(query)).all()]

    return api.site.run(read)  # type: ignore[no-any-return]


def _alerts(api: Api) -> list[Alert]:
    async def read(env: Env) -> list[Alert]:
        async with env.db.read() as conn:
            rows = (await conn.execute(sa.select(alerts).order_by(alerts.c.id))).all()
        return [Alert(**dict(r._mapping)) for r in rows]

    return api.site.run(read)  # type: ignore[no-any-return]


def test_caller_zones_are_set_by_admins_within_the_account_scope(api: Api) -> None:
    east = _staff_id(api, "east-desk")
    assert _make_caller(api, east, [1]).json() == {"staff_id": east, "zones": [1]}
    assert api.get(f"/api/v1/staff/{east}/caller-zones").json()["zones"] == [1]
    assert _make_caller(api, east, [2]).status_code == 422  # not the account's zone
    assert _make_caller(api, east, [999]).status_code == 422  # no such zone
    assert _make_caller(api, 9999, [1]).status_code == 404
    assert api.get("/api/v1/staff/9999/caller-zones").status_code == 404
    for bad in ({"zones": "1"}, {"zones": ["x"]}, {"zones": [0]}, {}, {"zones": [1], "x": 1}):
        assert api.put(f"/api/v1/staff/{east}/caller-zones", json=bad).status_code == 422
    over = {"zones": list(range(1, 70))}
    assert api.put(f"/api/v1/staff/{east}/caller-zones", json=over).status_code == 422
    no_csrf = api.client.put(f"/api/v1/staff/{east}/caller-zones", json={"zones": []})
    assert no_csrf.status_code == 403
    api.use("east-desk")
    assert api.put(f"/api/v1/staff/{east}/caller-zones", json={"zones": [1]}).status_code == 403
    assert api.get(f"/api/v1/staff/{east}/caller-zones").status_code == 403
    assert _make_caller(api, east, []).json()["zones"] == []
    assert [a["detail"]["zones"] for a in _audit(api, "staff.caller_zones")] == [[1], []]


def test_only_callers_who_stated_the_purpose_see_full_numbers(
    api: Api, observed: dict[str, Any]
) -> None:
    api.use("east-desk")
    page = api.get("/ui/followup").text
    assert "138****8000" in page
    assert "13800138000" not in page
    assert 'data-form="purpose"' not in page  # not a caller: nothing to state
    assert form_post(api, "/ui/followup/purpose", {"purpose": "followup"}).status_code == 403
    _make_caller(api, _staff_id(api, "east-desk"), [1])
    api.use("east-desk")
    page = api.get("/ui/followup").text
    assert 'data-form="purpose"' in page
    assert "13800138000" not in page  # the purpose comes first
    for bad in ({"purpose": "curiosity"}, {"purpose": "x" * 40}, {}):
        assert form_post(api, "/ui/followup/purpose", bad).status_code == 422
    no_csrf = api.client.post("/ui/followup/purpose", data={"purpose": "followup"})
    assert no_csrf.status_code == 403
    assert _audit(api, "followup.view") == []
    assert form_post(api, "/ui/followup/purpose", {"purpose": "followup"}).status_code == 303
    page = api.get("/ui/followup").text
    assert 'href="tel:13800138000"' in page
    assert "李四" not in page  # another zone's resident is not on this list
    [view] = _audit(api, "followup.view")
    assert view["actor"] == "east-desk"
    assert view["detail"] == {"purpose": "followup", "zones": [1], "numbers": 1}
    api.use("west-desk")  # not a caller: still masked in its own zone
    west = api.get("/ui/followup").text
    assert "李四" in west
    assert "tel:" not in west
    api.site.clock.advance(DAY)  # a new day: the purpose is asked again
    api.use("east-desk")
    assert "tel:" not in api.get("/ui/followup").text


def test_the_desk_shows_dates_and_who_ends_today(api: Api, observed: dict[str, Any]) -> None:
    api.use("admin")
    page = api.get("/ui/followup").text
    ends = page.split('data-panel="ends-today"', 1)[1].split("</section>", 1)[0]
    assert "李四" in ends
    assert "张三" not in ends
    assert "观察开始" in page
    assert "观察结束" in page


def test_fever_symptoms_and_unanswered_calls_raise_alerts(
    api: Api, observed: dict[str, Any]
) -> None:
    r1, r2 = observed["r1"], observed["r2"]
    threshold = fever_threshold_c()
    api.use("east-desk")
    below = {"outcome": "reached", "temperature": f"{threshold - 0.1:.1f}"}
    assert form_post(api, f"/ui/followup/{r1}", below).status_code == 303
    assert _alerts(api) == []
    at = {"outcome": "reached", "temperature": f"{threshold:.1f}"}
    assert form_post(api, f"/ui/followup/{r1}", at).status_code == 303
    [fever] = _alerts(api)
    assert (fever.kind, fever.severity, fever.subject) == (
        "followup_symptoms",
        "high",
        f"resident:{r1}",
    )
    assert fever.detail["resident"] == r1
    text = str(fever.detail)
    assert "张三" not in text
    assert "13800138000" not in text
    symptom = {"outcome": "reached", "symptoms": ["cough"]}
    assert form_post(api, f"/ui/followup/{r1}", symptom).status_code == 303
    assert [(a.kind, a.count) for a in _alerts(api)] == [("followup_symptoms", 2)]
    api.use("west-desk")
    assert form_post(api, f"/ui/followup/{r2}", {"outcome": "not_reached"}).status_code == 303
    assert len(_alerts(api)) == 1  # one unanswered call is no alert
    assert form_post(api, f"/ui/followup/{r2}", {"outcome": "not_reached"}).status_code == 303
    unreached = _alerts(api)[-1]
    assert (unreached.kind, unreached.subject) == ("followup_unreached", f"resident:{r2}")
    assert unreached.detail["unanswered"] == 2
    api.use("admin")
    assert "回访发现发热或症状" in api.get("/ui/").text
    page = api.get("/ui/followup").text
    assert "已上报告警" in page
    api.use("east-desk")  # the zone's staff see their residents' alerts, not the other zone's
    kinds = {a["kind"] for a in api.get("/api/v1/alerts").json()["items"]}
    assert kinds == {"followup_symptoms"}
    assert "回访发现发热或症状" in api.get("/ui/").text
    api.use("west-desk")
    kinds = {a["kind"] for a in api.get("/api/v1/alerts").json()["items"]}
    assert kinds == {"followup_unreached"}


@pytest.mark.parametrize(
    "data",
    [
        {"outcome": "maybe"},
        {"outcome": "reached", "temperature": "hot"},
        {"outcome": "reached", "temperature": "99"},
        {"outcome": "reached", "temperature": "3" * 20},
        {"outcome": "reached", "symptoms": ["rash"]},
        {"outcome": "not_reached", "temperature": "38.5"},
        {"outcome": "reached", "note": "x" * 600},
        {},
    ],
)
def test_malformed_calls_are_refused_and_raise_nothing(
    api: Api, observed: dict[str, Any], data: dict[str, Any]
) -> None:
    api.use("east-desk")
    assert form_post(api, f"/ui/followup/{observed['r1']}", data).status_code == 422
    assert _alerts(api) == []
    assert form_post(api, "/ui/followup/99999", {"outcome": "reached"}).status_code == 404


def _sheet(body: bytes) -> list[list[Any]]:
    book = load_workbook(io.BytesIO(body), read_only=True)
    return [list(r) for r in book.active.iter_rows(values_only=True)]  # type: ignore[union-attr]


def test_the_daily_sheet_for_the_street_office(api: Api, observed: dict[str, Any]) -> None:
    r1 = observed["r1"]
    api.use("east-desk")
    data = {"purpose": "street_report"}
    assert form_post(api, "/ui/followup/export.xlsx", data).status_code == 403  # not a caller
    _make_caller(api, _staff_id(api, "east-desk"), [1])
    api.use("east-desk")
    for bad in ({"purpose": "why"}, {}):
        assert form_post(api, "/ui/followup/export.xlsx", bad).status_code == 422
    assert api.client.post("/ui/followup/export.xlsx", data=data).status_code == 403  # no CSRF
    call = {"outcome": "reached", "temperature": "36.6", "note": "=HYPERLINK(1)"}
    assert form_post(api, f"/ui/followup/{r1}", call).status_code == 303
    answer = form_post(api, "/ui/followup/export.xlsx", data)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == XLSX_TYPE
    day = Clockface(api.site.settings.card_utc_offset_min).date(api.site.clock.now())
    assert answer.headers["content-disposition"] == f'attachment; filename="followup-{day}.xlsx"'
    rows = _sheet(answer.content)
    assert rows[0] == HEADERS
    assert len(rows) == 2  # only the caller's zone
    name, unit, phone, period, temp, reached, note = rows[1]
    assert (name, unit, phone, temp, reached) == ("张三", "3-2-201", "13800138000", 36.6, "是")
    assert period.count("至") == 1
    assert note == "'=HYPERLINK(1)"  # defused, not a formula
    [export] = _audit(api, "followup.export")
    assert export["detail"] == {"purpose": "street_report", "zones": [1], "rows": 1}
    api.use("admin")
    api.client.cookies.set("gatepass_lang", "en", domain="testserver.local")
    everyone = _sheet(form_post(api, "/ui/followup/export.xlsx", data).content)
    assert everyone[0] == [
        "Name",
        "Building / unit / room",
        "Phone",
        "Observation period",
        "Today's temperature",
        "Reached",
        "Note",
    ]
    assert sorted(r[0] for r in everyone[1:]) == ["张三", "李四"]
    assert {r[0]: r[5] for r in everyone[1:]}["李四"] == "Not called today"


def _gate_history(api: Api, resident_id: int, n: int) -> str:
    async def work(env: Env) -> str:
        await places.save_gate(
            env,
            CLI_ACTOR,
            "east-in",
            places.GateFields(zone_id=1, name="东门入口", direction="in"),
            create=True,
        )
        card = await issuing.issue_resident(env, CLI_ACTOR, resident_id)
        now = env.clock.now()
        for k in range(n):
            await add_event(
                env,
                gate="east-in",
                at_ms=(now - 3600 + k * 10) * 1000,
                granted=True,
                reason="ok",
                pass_ref=card.ref,
                body_c=36.5,
            )
        return card.ref

    return api.site.run(work)  # type: ignore[no-any-return]


def test_the_resident_page_shows_history_paged(api: Api, observed: dict[str, Any]) -> None:
    r1 = observed["r1"]
    _gate_history(api, r1, 30)
    api.use("east-desk")
    form_post(api, f"/ui/followup/{r1}", {"outcome": "reached", "temperature": "36.7"})
    first = api.get(f"/ui/residents/{r1}").text
    history = first.split('data-panel="gate-history"', 1)[1]
    assert '<span class="count">30</span>' in history
    assert history.count('<tr class="granted">') == 25
    assert "第 1 / 2 页" in history or "1 / 2" in history
    second = api.get(f"/ui/residents/{r1}?p=2").text.split('data-panel="gate-history"', 1)[1]
    assert second.count('<tr class="granted">') == 5
    calls = first.split('data-panel="calls"', 1)[1].split("</section>", 1)[0]
    assert "36.7" in calls
    changes = first.split('data-panel="observations"', 1)[1].split("</section>", 1)[0]
    assert "居家观察" in changes
    start = Clockface(api.site.settings.card_utc_offset_min).date(api.site.clock.now() - 2 * DAY)
    assert f"{start} – " in changes  # the period set, from the audit entry
    assert api.get(f"/ui/residents/{r1}?p=abc").status_code == 422
    assert api.get(f"/ui/residents/{r1}?p=-4").status_code == 200
    assert api.get(f"/ui/residents/{r1}?p=99999999999").status_code == 200
    assert api.get(f"/ui/residents/{observed['r2']}").status_code == 404  # another zone
    api.use("west-desk")
    assert api.get(f"/ui/residents/{r1}?p=2").status_code == 404


def test_callers_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEPASS_ROOT_PASSPHRASE", "lantern by the north gate")
    monkeypatch.setenv("GATEPASS_DATA", str(tmp_path / "site"))
    monkeypatch.setenv("GATEPASS_LANG", "en")
    assert main(["init", "--site", "gw01", "--zone", "east", "--zone", "west"]) == 0
    assert main(["staff", "add", "east-desk", "--zone", "east"]) == 0
    capsys.readouterr()
    assert main(["staff", "caller", "east-desk", "--zone", "east"]) == 0
    assert "east-desk calls in: east" in capsys.readouterr().out
    assert main(["staff", "list"]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert listing[1].split() == [
        "east-desk",
        "staff",
        "active",
        "east",
        "·",
        "calls",
        "in:",
        "east",
    ]
    assert main(["staff", "caller", "east-desk", "--zone", "west"]) == 1
    assert "within the account's own zones" in capsys.readouterr().err
    assert main(["staff", "caller", "east-desk"]) == 1
    assert "--none" in capsys.readouterr().err
    assert main(["staff", "caller", "nobody", "--none"]) == 1
    assert main(["staff", "caller", "east-desk", "--none"]) == 0
    assert "no longer a caller" in capsys.readouterr().out
    assert main(["staff", "list"]) == 0
    assert capsys.readouterr().out.splitlines()[1].split() == [
        "east-desk",
        "staff",
        "active",
        "east",
    ]
