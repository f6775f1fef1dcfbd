"""Importing from the browser: upload (type and size checked, stored under a server-made name),
the validation report, then the confirmed import of that same file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.server.conftest import Api
from tests.ui.conftest import form_post

GOOD = "楼栋,单元,房号,姓名,手机,身份,片区\n5,1,501,陈一,13800005001,业主,east\n5,1,501,陈二,,家属,east\n"
BAD_ROW = "5,1,502,,13800005002,业主,east\n"


def upload(api: Api, name: str, content: bytes) -> Any:
    return form_post(api, "/ui/import", {}, files={"file": (name, content, "text/csv")})


def uploads_dir(api: Api) -> Path:
    return api.site.settings.data_dir / "uploads"


def test_report_then_confirm(api: Api) -> None:
    api.use("admin")
    report = upload(api, "../../etc/居民.csv", (GOOD + BAD_ROW).encode())
    assert report.status_code == 200
    assert "3 行" in report.text or "共 3 行" in report.text
    assert "<td>4</td><td>姓名</td><td>为空</td>" in report.text  # the reader's language
    assert "name is empty" not in report.text
    stored = [p.name for p in uploads_dir(api).iterdir()]
    assert len(stored) == 1
    assert re.fullmatch(r"\d+-[0-9a-f]{32}\.upload", stored[0])
    assert oct(uploads_dir(api).joinpath(stored[0]).stat().st_mode & 0o777) == "0o600"
    token = re.search(r'action="/ui/import/([0-9a-f]{32})"', report.text).group(1)  # type: ignore[union-attr]
    refused = form_post(api, f"/ui/import/{token}", {})
    assert "导入完成" not in refused.text  # one bad row: nothing written without the box ticked
    assert "未写入任何内容" in refused.text
    assert api.get("/api/v1/residents", params={"q": "陈"}).json()["total"] == 0
    done = form_post(api, f"/ui/import/{token}", {"skip_invalid": "yes"})
    assert "导入完成" in done.text
    assert api.get("/api/v1/residents", params={"q": "陈"}).json()["total"] == 2
    assert list(uploads_dir(api).iterdir()) == []
    assert form_post(api, f"/ui/import/{token}", {}).status_code == 404  # used up
    assert form_post(api, "/ui/import/..%2F..%2Fetc", {}).status_code == 404


def test_wrong_files_are_refused(api: Api) -> None:
    api.use("admin")
    assert upload(api, "list.exe", GOOD.encode()).status_code == 422
    assert upload(api, "list.csv", b"\x00\x01binary\x00").status_code == 422
    assert upload(api, "list.csv", b"").status_code == 422
    assert upload(api, "list.xlsx", b"PK\x03\x04 not really a zip").status_code == 422
    assert list(uploads_dir(api).iterdir()) == []
    api.use("east-desk")
    assert upload(api, "list.csv", GOOD.encode()).status_code == 403


def test_the_preview_in_english_with_a_zone(api: Api) -> None:
    """The reader's language: reasons and columns in English; a zone chosen on the page."""
    api.use("admin")
    api.client.cookies.set("gatepass_lang", "en")
    no_zone = GOOD.replace(",east\n", ",\n")
    report = form_post(
        api,
        "/ui/import",
        {"zone": "west"},
        files={
            "file": ("r.csv", (no_zone + "5,1,503,王五,13800005003,也许,\n").encode(), "text/csv")
        },
    )
    assert report.status_code == 200
    assert "<td>4</td><td>Relation (身份)</td><td>is not a known relation" in report.text
    assert "New people" in report.text
    token = re.search(r'action="/ui/import/([0-9a-f]{32})"', report.text).group(1)  # type: ignore[union-attr]
    done = form_post(api, f"/ui/import/{token}", {"zone": "west", "skip_invalid": "yes"})
    assert "Import finished" in done.text
    found = api.get("/api/v1/residents", params={"q": "陈"}).json()
    assert {r["zone_id"] for r in found["items"]} == {2}


def test_skipping_every_row_writes_nothing_and_says_so(api: Api) -> None:
    api.use("admin")
    report = upload(api, "r.csv", ("楼栋,单元,房号,姓名,手机,身份,片区\n" + BAD_ROW).encode())
    token = re.search(r'action="/ui/import/([0-9a-f]{32})"', report.text).group(1)  # type: ignore[union-attr]
    done = form_post(api, f"/ui/import/{token}", {"skip_invalid": "yes"})
    assert "未写入任何内容" in done.text
    assert "导入完成" not in done.text
