"""Event exports in the reader's language (issue 17 item 8): the CSV says 通过/拒绝, the reason's
name, the lane's direction and the holder's kind as the page does (English with the English
UI); admins may export full names for a stated reason, which is audited; everyone else gets
masked names and is refused the full-name export."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.server.conftest import Api, seed
from tests.ui.conftest import form_post
from tests.ui.data import add_event, issue_pass, make_gates

FULL = "/ui/events/full-names.csv"


@pytest.fixture
def ids(api: Api) -> dict[str, Any]:
    """张三's pass used at the east entry (granted, fever) and exit, and an unknown code."""
    found = seed(api)
    make_gates(api)
    ref = issue_pass(api, found["r1"])["ref"]
    now_ms = api.site.clock.now() * 1000
    for k, (gate, granted, reason) in enumerate(
        (
            ("east-in", True, "ok"),
            ("east-in", False, "fever"),
            ("east-out", True, "ok"),
            ("east-in", False, "a_code_from_the_future"),
        )
    ):
        api.site.run(
            lambda env, g=gate, ok=granted, r=reason, k=k: add_event(
                env, gate=g, at_ms=now_ms - 60_000 + k, granted=ok, reason=r, pass_ref=ref
            )
        )
    return found


def _csv(response: Any) -> list[list[str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))


def _audits(api: Api) -> list[tuple[str, str, dict[str, Any]]]:
    path = Path(api.site.settings.db_url.removeprefix("sqlite+aiosqlite:///"))
    with sqlite3.connect(path) as db:
        rows = db.execute(
            "SELECT actor, action, detail FROM audit_log WHERE action = 'events.export_names'"
        ).fetchall()
    return [(a, b, json.loads(c)) for a, b, c in rows]


def test_csv_uses_the_pages_words(api: Api, ids: dict[str, Any]) -> None:
    api.use("east-desk")
    rows = _csv(api.get("/ui/events.csv"))
    assert rows[0] == [
        "时间",
        "通道",
        "方向",
        "结果",
        "原因",
        "门牌",
        "姓名",
        "类型",
        "体温",
        "通行证编号",
        "记录编号",
    ]
    body = rows[1:]
    assert [r[3] for r in body] == ["通过", "拒绝", "通过", "拒绝"]
    assert [r[4] for r in body] == [
        "正常通行",
        "体温异常（发热）",
        "正常通行",
        "a_code_from_the_future",
    ]
    assert [r[2] for r in body] == ["进", "进", "出", "进"]
    assert {r[7] for r in body} == {"居民"}
    assert {r[6] for r in body} == {"张*"}
    joined = "\n".join(",".join(r) for r in body)
    for code in ("granted", "denied", "recently_used", "resident", ",in,", ",ok,"):
        assert code not in joined


def test_csv_in_english_with_the_english_ui(api: Api, ids: dict[str, Any]) -> None:
    api.use("east-desk")
    api.client.cookies.set("gatepass_lang", "en", domain="testserver.local")
    rows = _csv(api.get("/ui/events.csv", params={"decision": "denied"}))
    assert rows[0][:5] == ["time", "lane", "Direction", "decision", "Reason"]
    assert [r[3] for r in rows[1:]] == ["Refused", "Refused"]
    assert rows[1][7] == "Resident"


def test_admin_exports_full_names_for_a_stated_reason(api: Api, ids: dict[str, Any]) -> None:
    api.use("admin")
    page = api.get("/ui/events").text
    assert 'action="/ui/events/full-names.csv"' in page
    data = {"reason": "街道办核查 11 月 5 日疫情密接", "gate": "east-in", "decision": "granted"}
    rows = _csv(form_post(api, FULL, data))
    assert [r[6] for r in rows[1:]] == ["张三"]  # the filter applies: one granted entry
    assert "events-full-names.csv" in form_post(api, FULL, data).headers["content-disposition"]
    audits = _audits(api)
    assert len(audits) == 2
    actor, _, detail = audits[0]
    assert actor == "admin"
    assert detail["reason"] == data["reason"]
    assert detail["rows"] == 1
    assert detail["filters"] == {"gate": "east-in"}
    assert "张三" not in json.dumps(detail, ensure_ascii=False)


@pytest.mark.parametrize(
    ("reason", "status"),
    [("", 422), ("   ", 422), ("x" * 201, 422), ("bad\x00reason", 422), ("查\n核", 422)],
)
def test_full_names_need_a_clean_reason(
    api: Api, ids: dict[str, Any], reason: str, status: int
) -> None:
    api.use("admin")
    response = form_post(api, FULL, {"reason": reason})
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert "张三" not in response.text
    assert _audits(api) == []


def test_full_names_refused_to_staff_and_without_csrf(api: Api, ids: dict[str, Any]) -> None:
    api.use("east-desk")
    assert "full-names.csv" not in api.get("/ui/events").text
    refused = form_post(api, FULL, {"reason": "我想看看"})
    assert refused.status_code == 403
    assert "张三" not in refused.text
    api.use("admin")
    assert api.client.post(FULL, data={"reason": "核查"}).status_code == 403  # no CSRF token
    assert form_post(api, FULL, {"reason": "核查", "since": "yesterday"}).status_code == 422
    assert form_post(api, FULL, {"reason": "核查", "decision": "maybe"}).status_code == 422
    assert form_post(api, FULL, {"reason": "核查", "gate": "g" * 33}).status_code == 422
    assert _audits(api) == []
    masked = _csv(api.get("/ui/events.csv"))
    assert {r[6] for r in masked[1:]} == {"张*"}  # the admin's ordinary export is masked too
