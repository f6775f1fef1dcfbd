"""A name that begins or ends with a bidi control (issue 14 item 8) is refused where it comes in
(import, API, staff forms) with its reason, because the pass prints a name's first and last
characters and the claims' text rule refuses bidi controls; a building, unit or room label is
printed whole. A resident stored before the rule does not break a building's bulk issue: that
one person is reported and everyone else gets a pass."""

from __future__ import annotations

import contextlib
import re
import sqlite3
from typing import Any

from server.web.i18n import Translator
from tests.server.conftest import START, Api, Site
from tests.ui.conftest import form_post

RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE
ZH = Translator("zh-CN")
NAME_REASON = ZH("import.reason.name_edge")  # the admin reads Chinese


def _home(api: Api, building: str = "7", room: str = "701") -> int:
    api.use("admin")
    body = {"zone_id": 1, "building": building, "unit": "1", "room": room}
    response = api.post("/api/v1/households", json=body)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _said(page: str, message: str) -> bool:
    return message in page


def test_an_import_refuses_names_with_a_bidi_control_at_either_end(api: Api) -> None:
    """The attack: a register whose names start or end with U+202E, uploaded and confirmed."""
    register = (
        "楼栋,单元,房号,姓名,身份,片区\n"
        f"7,1,701,{RLO}张三,业主,east\n"
        f"7,1,701,李四{RLO},家属,east\n"
        f"7,1,702,王{RLO}五,业主,east\n"  # inside the name: the pass shows 王*五
    )
    api.use("admin")
    files = {"file": ("名单.csv", register.encode(), "text/csv")}
    report = form_post(api, "/ui/import", {}, files=files)
    assert report.status_code == 200
    problems = re.findall(r"<tr><td>(\d+)</td><td>([^<]*)</td><td>([^<]*)</td></tr>", report.text)
    assert [(row, reason.startswith(NAME_REASON)) for row, _column, reason in problems] == [
        ("2", True),
        ("3", True),
    ]
    token = re.search(r'action="/ui/import/([0-9a-f]{32})"', report.text).group(1)  # type: ignore[union-attr]
    assert form_post(api, f"/ui/import/{token}", {}).status_code == 200
    assert api.get("/api/v1/residents").json()["total"] == 0  # all or nothing
    form_post(api, f"/ui/import/{token}", {"skip_invalid": "yes"})
    names = [r["name"] for r in api.get("/api/v1/residents").json()["items"]]
    assert names == [f"王{RLO}五"]


def test_the_api_and_the_forms_refuse_them_with_the_reason(api: Api) -> None:
    """The same names typed into the API and the staff pages; labels are printed whole."""
    home = _home(api)
    for name in (f"{RLO}张三", f"李四{RLO}", "赵六\u2067"):
        body = {"household_id": home, "name": name, "role": "family"}
        response = api.post("/api/v1/residents", json=body)
        assert response.status_code == 422, name
        assert response.json()["code"] == "name_edge_text"
    for building in (f"{RLO}8", f"8{RLO}1", "8\u2066"):
        body = {"zone_id": 1, "building": building, "unit": "", "room": "801"}
        response = api.post("/api/v1/households", json=body)
        assert response.status_code == 422, building
        assert response.json()["code"] == "label_text"
    page = form_post(
        api,
        f"/ui/households/{home}/new-resident",
        {"name": f"{RLO}张三", "role": "owner"},
    )
    assert page.status_code == 422
    assert _said(page.text, ZH("code.name_edge_text"))
    assert api.get("/api/v1/residents").json()["total"] == 0


def _legacy_resident(site: Site, household: int, name: str) -> int:
    """A resident stored before the rule, written straight into SQLite."""
    path = site.settings.data_dir / "registry.db"
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        cursor = db.execute(
            "INSERT INTO residents (household_id, name, role, status, created_at, updated_at)"
            " VALUES (?, ?, 'family', 'normal', ?, ?)",
            (household, name, START, START),
        )
        return int(cursor.lastrowid or 0)


def _people(api: Api, household: int, *names: str) -> list[int]:
    ids = []
    for name in names:
        body = {"household_id": household, "name": name, "role": "family"}
        ids.append(int(api.post("/api/v1/residents", json=body).json()["id"]))
    return ids


def test_a_bulk_issue_reports_the_one_legacy_row_and_issues_everyone_else(api: Api) -> None:
    """The attack's aftermath: building 7 holds a name from before the rule; the admin issues
    the whole building's passes."""
    first, second = _home(api, room="701"), _home(api, room="702")
    good = _people(api, first, "张三", "李四") + _people(api, second, "王五")
    bad = _legacy_resident(api.site, second, f"{RLO}赵六")
    response = api.post("/api/v1/passes/bulk", json={"building": "7"})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    assert sorted(p["resident_id"] for p in body["issued"]) == sorted(good)
    assert body["skipped"] == [
        {"resident_id": bad, "household_id": second, "reason": "unprintable_holder"}
    ]
    alone = api.post("/api/v1/passes", json={"resident_id": bad})
    assert alone.status_code == 422
    assert alone.json()["code"] == "unprintable_holder"
    page = form_post(api, f"/ui/residents/{bad}/passes", {})
    assert page.status_code == 422
    assert _said(page.text, ZH("code.unprintable_holder"))
    passes = api.get("/api/v1/passes", params={"size": 100}).json()["items"]
    assert sorted(p["resident_id"] for p in passes) == sorted(good)
