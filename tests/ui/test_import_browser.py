"""Upload → preview → apply of the office's register in a real browser (issue 16 item 3):
Debian's Chromium (Playwright) against a real server process and SQLite file. The site has
imported an earlier register; since then a phone was edited at the desk and a person erased. The
new XLSX register (no zone column; the zone chosen on the page) brings a new person, a changed
phone, a person gone, an observation starting, a conflict with the desk's edit, the erased
person (ticked to register again) and a rejected row. The preview is saved as
docs/screenshots/office-import-preview.png for docs/office.md."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from server.services.context import CLI_ACTOR, Env
from server.services.passes import issuing
from server.services.privacy.subjects import erase_resident
from server.services.registry import residents
from server.services.registry.imports import import_residents
from server.services.registry.site import initialise
from tests.server.conftest import STRONG, ready_accounts
from tests.server.office_register import HEADERS, write_xlsx
from tests.ui.browser import SCREENSHOTS, LiveSite, ServerProcess, new_site, serving

pytestmark = pytest.mark.slow

EARLIER = [
    ["1号楼", "1", "101", "张伟", "13800138001", "户主", "否", ""],
    ["1号楼", "1", "101", "李芳", "", "配偶", "否", ""],
    ["1号楼", "1", "102", "王强", "13800138004", "业主", "否", ""],
    ["1号楼", "2", "201", "赵敏", "13800138005", "租户", "否", ""],
    ["1号楼", "2", "202", "陈静", "13800138006", "户主", "否", ""],
    ["1号楼", "2", "202", "周杰", "13800138007", "子女", "否", ""],
]
NOW = [
    ["1号楼", "1", "101", "张伟", "13700137001", "户主", "否", ""],  # phone changed (row 2)
    ["1号楼", "1", "101", "李芳", "", "配偶", "是", ""],  # observation starts (row 3)
    ["1号楼", "1", "102", "王强", "13800138004", "业主", "否", ""],  # unchanged (row 4)
    ["1号楼", "2", "201", "赵敏", "13600136005", "租户", "否", ""],  # conflict (row 5)
    ["1号楼", "2", "202", "陈静", "13800138006", "户主", "否", ""],  # erased (row 6)
    ["1号楼", "2", "203", "孙丽", "13900139008", "租户", "否", ""],  # new (row 7)
    ["1号楼", "2", "203", "吴刚", "1380013", "租户", "否", ""],  # rejected (row 8)
]  # 周杰 is gone


def _ids(site: LiveSite) -> dict[str, int]:
    with contextlib.closing(sqlite3.connect(site.settings.data_dir / "registry.db")) as db:
        return dict(db.execute("SELECT name, id FROM residents"))  # type: ignore[arg-type]


def _row(site: LiveSite, name: str) -> tuple[Any, ...]:
    with contextlib.closing(sqlite3.connect(site.settings.data_dir / "registry.db")) as db:
        query = "SELECT phone, status FROM residents WHERE name = ?"
        return tuple(db.execute(query, (name,)).fetchone() or ())


@pytest.fixture(scope="module")
def prepared(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[LiveSite, ServerProcess, Path]]:
    root = tmp_path_factory.mktemp("ui-import")
    site = new_site(root / "data")
    earlier = write_xlsx(root / "earlier.xlsx", EARLIER)

    async def seed(env: Env) -> None:
        await initialise(
            env,
            site="gw01",
            name="Garden",
            zones=["东区", "西区"],
            admin="admin",
            root_passphrase=None,
        )
        await ready_accounts(env)
        await import_residents(env, CLI_ACTOR, earlier, zone="东区")

    site.run(seed)
    ids = _ids(site)

    async def since(env: Env) -> None:
        await issuing.issue_resident(env, CLI_ACTOR, ids["张伟"])
        fields = residents.ResidentFields(phone="13500135005")
        await residents.save(env, CLI_ACTOR, ids["赵敏"], fields)  # edited at the desk
        await erase_resident(env, CLI_ACTOR, ids["陈静"])

    site.run(since)
    register = write_xlsx(root / "住户名单.xlsx", NOW, HEADERS)
    with serving(site, root / "server.log") as server:
        yield site, server, register


def test_upload_preview_apply(
    browser: Browser, prepared: tuple[LiveSite, ServerProcess, Path]
) -> None:
    site, server, register = prepared
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server.url}/ui/login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", STRONG)
    page.click("button[type=submit].primary")
    expect(page).to_have_url(f"{server.url}/ui/")

    page.goto(f"{server.url}/ui/import")
    expect(page.locator("h1")).to_have_text("导入住户名单")
    page.select_option("select[name=zone]", "东区")
    page.set_input_files("input[name=file]", str(register))
    page.click("button[type=submit].primary")
    expect(page.locator("h1")).to_have_text("导入预览")
    summary = page.locator("[data-summary]")
    expect(summary).to_contain_text("共 7 行")
    expect(summary).to_contain_text("迁出 1 人")
    expect(summary).to_contain_text("冲突 1 处")
    expect(summary).to_contain_text("拒绝 2 行")
    expect(page.locator("[data-section=rejected]")).to_contain_text("不是有效的手机号")
    expect(page.locator("[data-section=phones]")).to_contain_text("137****7001")
    expect(page.locator("[data-section=gone]")).to_contain_text("1号楼-2-202")
    expect(page.locator("[data-section=observations]")).to_contain_text("开始居家观察")
    expect(page.locator("[data-section=conflicts]")).to_contain_text("联系电话")
    expect(page.locator("[data-section=new]")).to_contain_text("孙*")
    expect(page.locator("[data-section=erased] input[name=confirm_row]")).to_have_value("6")
    assert _row(site, "张伟") == ("+8613800138001", "normal")  # a preview writes nothing

    page.check("[data-section=erased] input[name=confirm_row]")
    page.check("input[name=skip_invalid]")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "office-import-preview.png"), full_page=True)
    page.click("button[data-apply]")
    expect(page.locator("h1")).to_have_text("导入完成")
    expect(page.locator(".flash.good")).to_contain_text("重新签发 1 张通行证")

    assert _row(site, "张伟") == ("+8613700137001", "normal")
    assert _row(site, "李芳")[1] == "home_observation"
    assert _row(site, "赵敏") == ("+8613500135005", "normal")  # the desk's edit stays
    assert _row(site, "周杰")[1] == "moved_out"
    assert _row(site, "陈静") == ("+8613800138006", "normal")  # confirmed: registered again
    assert _row(site, "孙丽")[1] == "normal"
    assert _row(site, "吴刚") == ()
    assert list((site.settings.data_dir / "uploads").iterdir()) == []
    assert errors == []
    context.close()
